/* test-search-provider.c: notes found from GNOME Shell's search, over D-Bus
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A real store in a temporary folder, the provider exported on a private
 * session bus (GTestDBus), and the calls GNOME Shell makes.
 */
#include <glib/gstdio.h>

#include "tandem-note.h"
#include "tandem-saved-note.h"
#include "tandem-search-provider.h"

#define PATH "/io/github/tandemnotes/Tandem/SearchProvider"
#define IFACE "org.gnome.Shell.SearchProvider2"

typedef struct
{
  char *dir;
  TandemStore *store;
  GTestDBus *bus;
  GDBusConnection *server;
  GDBusConnection *client;
  TandemSearchProvider *provider;
  char *ids[4];
} Fixture;

/* An edit that must have been made; its run is not needed. */
static void
made (TandemEvent *event)
{
  g_assert_nonnull (event);
  tandem_event_unref (event);
}

static char *
add_note (TandemStore *store,
          const char  *title,
          const char  *text,
          gboolean     trashed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemSavedNote) saved = tandem_saved_note_create (store, tandem_store_get_private_notebook_id (store),
                                                               tandem_store_get_peer_id (store), &error);
  TandemNote *note;

  g_assert_no_error (error);
  note = tandem_saved_note_get_note (saved);
  if (title != NULL)
    made (tandem_note_set_field (note, "title", g_variant_new_string (title), &error));
  made (tandem_note_insert (note, 0, text, &error));
  if (trashed)
    made (tandem_note_set_field (note, "trashed", g_variant_new_int64 (1), &error));
  g_assert_true (tandem_saved_note_commit (saved, &error));
  g_assert_no_error (error);
  return g_strdup (tandem_saved_note_get_id (saved));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  f->dir = g_dir_make_tmp ("tandem-search-XXXXXX", &error);
  g_assert_no_error (error);
  f->store = tandem_store_open (f->dir, &error);
  g_assert_no_error (error);
  f->ids[0] = add_note (f->store, "Shopping list", "Milk, eggs and Gruyère", FALSE);
  f->ids[1] = add_note (f->store, NULL, "Trip to Zürich\nTrain at 9", FALSE);
  f->ids[2] = add_note (f->store, "Old eggs recipe", "gone", TRUE);
  f->ids[3] = add_note (f->store, "Meeting", "Agenda: budget, eggs for the party", FALSE);

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  address = g_strdup (g_test_dbus_get_bus_address (f->bus));
  f->server = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);
  f->client = g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);
  f->provider = tandem_search_provider_new (f->store);
  g_assert_true (tandem_search_provider_register (f->provider, f->server, PATH, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->provider);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
  g_clear_object (&f->store);
  g_assert_true (tandem_store_delete_profile (f->dir, &error));
  g_free (f->dir);
  for (guint i = 0; i < G_N_ELEMENTS (f->ids); i++)
    g_free (f->ids[i]);
}

static void
call_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Calls the provider as GNOME Shell would. The provider answers from this
 * thread's main context, so the call is asynchronous and the context runs
 * until the answer is in. */
static GVariant *
call (Fixture    *f,
      const char *method,
      GVariant   *args,
      const char *reply_type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GVariant *reply;

  g_dbus_connection_call (f->client, g_dbus_connection_get_unique_name (f->server), PATH, IFACE, method, args,
                          G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, call_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  reply = g_dbus_connection_call_finish (f->client, result, &error);
  g_assert_no_error (error);
  return reply;
}

static GStrv
search (Fixture            *f,
        const char * const *terms)
{
  g_autoptr(GVariant) reply = call (f, "GetInitialResultSet", g_variant_new ("(^as)", terms), "(as)");
  GStrv results;

  g_variant_get (reply, "(^as)", &results);
  return results;
}

static void
test_initial (Fixture       *f,
              gconstpointer  data)
{
  const char *eggs[] = { "EGGS", NULL };
  const char *two[] = { "eggs", "budget", NULL };
  const char *accent[] = { "gruyère", NULL };
  const char *none[] = { "bicycle", NULL };
  g_auto(GStrv) r1 = search (f, eggs);
  g_auto(GStrv) r2 = search (f, two);
  g_auto(GStrv) r3 = search (f, accent);
  g_auto(GStrv) r4 = search (f, none);

  /* case does not matter; the trashed note is left out */
  g_assert_cmpuint (g_strv_length (r1), ==, 2);
  g_assert_true (g_strv_contains ((const char * const *) r1, f->ids[0]));
  g_assert_true (g_strv_contains ((const char * const *) r1, f->ids[3]));
  /* every term must match */
  g_assert_cmpuint (g_strv_length (r2), ==, 1);
  g_assert_cmpstr (r2[0], ==, f->ids[3]);
  g_assert_cmpuint (g_strv_length (r3), ==, 1);
  g_assert_cmpstr (r3[0], ==, f->ids[0]);
  g_assert_cmpuint (g_strv_length (r4), ==, 0);
}

static void
test_subsearch (Fixture       *f,
                gconstpointer  data)
{
  const char *previous[] = { f->ids[0], NULL };
  const char *terms[] = { "eggs", NULL };
  g_autoptr(GVariant) reply = call (f, "GetSubsearchResultSet", g_variant_new ("(^as^as)", previous, terms), "(as)");
  g_auto(GStrv) results = NULL;

  g_variant_get (reply, "(^as)", &results);
  g_assert_cmpuint (g_strv_length (results), ==, 1);
  g_assert_cmpstr (results[0], ==, f->ids[0]);
}

static void
test_metas (Fixture       *f,
            gconstpointer  data)
{
  const char *ids[] = { f->ids[0], f->ids[1], NULL };
  g_autoptr(GVariant) reply = call (f, "GetResultMetas", g_variant_new ("(^as)", ids), "(aa{sv})");
  g_autoptr(GVariant) metas = g_variant_get_child_value (reply, 0);
  gboolean seen[2] = { FALSE, FALSE };

  g_assert_cmpuint (g_variant_n_children (metas), ==, 2);
  for (gsize i = 0; i < 2; i++)
    {
      g_autoptr(GVariant) meta = g_variant_get_child_value (metas, i);
      const char *id, *name, *description;

      g_assert_true (g_variant_lookup (meta, "id", "&s", &id));
      g_assert_true (g_variant_lookup (meta, "name", "&s", &name));
      g_assert_true (g_variant_lookup (meta, "description", "&s", &description));
      if (g_str_equal (id, f->ids[0]))
        {
          g_assert_cmpstr (name, ==, "Shopping list");
          g_assert_cmpstr (description, ==, "Milk, eggs and Gruyère");
          seen[0] = TRUE;
        }
      else
        {
          /* no title: its first line */
          g_assert_cmpstr (id, ==, f->ids[1]);
          g_assert_cmpstr (name, ==, "Trip to Zürich");
          seen[1] = TRUE;
        }
    }
  g_assert_true (seen[0] && seen[1]);
}

static void
on_activate (TandemSearchProvider *provider,
             const char           *id,
             char                **out)
{
  *out = g_strdup (id);
}

static void
test_activate (Fixture       *f,
               gconstpointer  data)
{
  const char *terms[] = { "eggs", NULL };
  g_autofree char *activated = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_signal_connect (f->provider, "activate-note", G_CALLBACK (on_activate), &activated);
  reply = call (f, "ActivateResult", g_variant_new ("(s^asu)", f->ids[3], terms, 0), "()");
  g_assert_cmpstr (activated, ==, f->ids[3]);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/app/search-provider/initial", Fixture, NULL, fixture_set_up, test_initial, fixture_tear_down);
  g_test_add ("/app/search-provider/subsearch", Fixture, NULL, fixture_set_up, test_subsearch, fixture_tear_down);
  g_test_add ("/app/search-provider/metas", Fixture, NULL, fixture_set_up, test_metas, fixture_tear_down);
  g_test_add ("/app/search-provider/activate", Fixture, NULL, fixture_set_up, test_activate, fixture_tear_down);
  return g_test_run ();
}
