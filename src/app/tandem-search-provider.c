/* tandem-search-provider.c: notes in GNOME Shell's search
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * org.gnome.Shell.SearchProvider2 on the application's D-Bus connection.
 * It reads what the store keeps beside each note (title, tags, text), so
 * a search loads no note and starts nothing on the network. A note
 * matches when every term is in its title, tags or text, ignoring case.
 * Trashed notes are left out.
 */
#include "tandem-search-provider.h"

#include <glib/gi18n.h>

/* GNOME Shell shows a handful; more is wasted work. */
#define MAX_RESULTS 20

static const char introspection_xml[] =
  "<node>"
  "  <interface name='org.gnome.Shell.SearchProvider2'>"
  "    <method name='GetInitialResultSet'>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='as' name='results' direction='out'/>"
  "    </method>"
  "    <method name='GetSubsearchResultSet'>"
  "      <arg type='as' name='previous_results' direction='in'/>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='as' name='results' direction='out'/>"
  "    </method>"
  "    <method name='GetResultMetas'>"
  "      <arg type='as' name='identifiers' direction='in'/>"
  "      <arg type='aa{sv}' name='metas' direction='out'/>"
  "    </method>"
  "    <method name='ActivateResult'>"
  "      <arg type='s' name='identifier' direction='in'/>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='u' name='timestamp' direction='in'/>"
  "    </method>"
  "    <method name='LaunchSearch'>"
  "      <arg type='as' name='terms' direction='in'/>"
  "      <arg type='u' name='timestamp' direction='in'/>"
  "    </method>"
  "  </interface>"
  "</node>";

struct _TandemSearchProvider
{
  GObject parent_instance;

  TandemStore *store;
  GDBusConnection *connection;
  guint registration_id;
};

G_DEFINE_FINAL_TYPE (TandemSearchProvider, tandem_search_provider, G_TYPE_OBJECT)

enum { ACTIVATE_NOTE, LAUNCH_SEARCH, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct
{
  char *id;
  char *title;
  char *haystack;   /* casefolded title, fields and text */
  char *snippet;
} Candidate;

static void
candidate_free (Candidate *c)
{
  g_free (c->id);
  g_free (c->title);
  g_free (c->haystack);
  g_free (c->snippet);
  g_free (c);
}

/* Every note not in the trash, of every notebook. */
static GPtrArray *
list_candidates (TandemSearchProvider *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  g_autoptr(GPtrArray) notebooks = tandem_store_list_notebooks (self->store, NULL);

  for (guint i = 0; notebooks && i < notebooks->len; i++)
    {
      TandemStoreNotebook *notebook = g_ptr_array_index (notebooks, i);
      g_autoptr(GPtrArray) notes = tandem_store_list_notes (self->store, notebook->id, NULL);

      for (guint k = 0; notes && k < notes->len; k++)
        {
          TandemStoreNoteInfo *info = g_ptr_array_index (notes, k);
          g_autofree char *text = NULL;
          g_autofree char *all = NULL;
          Candidate *c;

          if (info->trashed != 0)
            continue;
          text = tandem_store_load_note_text (self->store, info->id, NULL);
          c = g_new0 (Candidate, 1);
          c->id = g_strdup (info->id);
          c->title = g_strdup (info->title);
          c->snippet = g_strdup (info->snippet);
          all = g_strjoin ("\n", info->fields ? info->fields : "", text ? text : "", NULL);
          c->haystack = g_utf8_casefold (all, -1);
          g_ptr_array_add (out, c);
        }
    }
  return out;
}

static gboolean
matches (Candidate          *c,
         const char * const *terms)
{
  for (guint i = 0; terms[i]; i++)
    {
      g_autofree char *term = g_utf8_casefold (terms[i], -1);

      if (strstr (c->haystack, term) == NULL)
        return FALSE;
    }
  return TRUE;
}

/**
 * tandem_search_provider_search:
 * @terms: what the user typed, split into words
 * @within: (nullable): only among these ids
 *
 * Returns: (transfer full): the ids of the notes holding every term
 */
GStrv
tandem_search_provider_search (TandemSearchProvider *self,
                               const char * const   *terms,
                               const char * const   *within)
{
  g_autoptr(GPtrArray) candidates = list_candidates (self);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint n = 0;

  for (guint i = 0; i < candidates->len && n < MAX_RESULTS; i++)
    {
      Candidate *c = g_ptr_array_index (candidates, i);

      if (within != NULL && !g_strv_contains (within, c->id))
        continue;
      if (matches (c, terms))
        {
          g_strv_builder_add (builder, c->id);
          n++;
        }
    }
  return g_strv_builder_end (builder);
}

static GVariant *
result_metas (TandemSearchProvider *self,
              const char * const   *ids)
{
  g_autoptr(GPtrArray) candidates = list_candidates (self);
  GVariantBuilder metas;

  g_variant_builder_init (&metas, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < candidates->len; i++)
    {
      Candidate *c = g_ptr_array_index (candidates, i);
      GVariantBuilder meta;
      g_autofree char *first_line = NULL;
      const char *name;

      if (!g_strv_contains (ids, c->id))
        continue;
      if (c->title != NULL && *c->title)
        name = c->title;
      else
        {
          const char *end = c->snippet ? strchr (c->snippet, '\n') : NULL;

          first_line = c->snippet ? (end ? g_strndup (c->snippet, end - c->snippet) : g_strdup (c->snippet)) : NULL;
          name = first_line && *first_line ? first_line : _("Untitled note");
        }
      g_variant_builder_init (&meta, G_VARIANT_TYPE ("a{sv}"));
      g_variant_builder_add (&meta, "{sv}", "id", g_variant_new_string (c->id));
      g_variant_builder_add (&meta, "{sv}", "name", g_variant_new_string (name));
      g_variant_builder_add (&meta, "{sv}", "description", g_variant_new_string (c->snippet ? c->snippet : ""));
      g_variant_builder_add (&metas, "a{sv}", &meta);
    }
  return g_variant_builder_end (&metas);
}

static void
method_call (GDBusConnection       *connection,
             const char            *sender,
             const char            *path,
             const char            *interface,
             const char            *method,
             GVariant              *parameters,
             GDBusMethodInvocation *invocation,
             gpointer               user_data)
{
  TandemSearchProvider *self = user_data;

  if (g_str_equal (method, "GetInitialResultSet"))
    {
      g_autofree const char **terms = NULL;
      g_auto(GStrv) results = NULL;

      g_variant_get (parameters, "(^a&s)", &terms);
      results = tandem_search_provider_search (self, terms, NULL);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", results));
    }
  else if (g_str_equal (method, "GetSubsearchResultSet"))
    {
      g_autofree const char **previous = NULL;
      g_autofree const char **terms = NULL;
      g_auto(GStrv) results = NULL;

      g_variant_get (parameters, "(^a&s^a&s)", &previous, &terms);
      results = tandem_search_provider_search (self, terms, previous);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", results));
    }
  else if (g_str_equal (method, "GetResultMetas"))
    {
      g_autofree const char **ids = NULL;

      g_variant_get (parameters, "(^a&s)", &ids);
      g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple ((GVariant *[]) { result_metas (self, ids) }, 1));
    }
  else if (g_str_equal (method, "ActivateResult"))
    {
      const char *id;
      g_autofree const char **terms = NULL;
      guint32 timestamp;

      g_variant_get (parameters, "(&s^a&su)", &id, &terms, &timestamp);
      g_signal_emit (self, signals[ACTIVATE_NOTE], 0, id);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method, "LaunchSearch"))
    {
      g_autofree const char **terms = NULL;
      g_autofree char *joined = NULL;
      guint32 timestamp;

      g_variant_get (parameters, "(^a&su)", &terms, &timestamp);
      joined = g_strjoinv (" ", (char **) terms);
      g_signal_emit (self, signals[LAUNCH_SEARCH], 0, joined);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No method %s", method);
}

static void
tandem_search_provider_dispose (GObject *object)
{
  TandemSearchProvider *self = TANDEM_SEARCH_PROVIDER (object);

  tandem_search_provider_unregister (self);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (tandem_search_provider_parent_class)->dispose (object);
}

static void
tandem_search_provider_class_init (TandemSearchProviderClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tandem_search_provider_dispose;

  /**
   * TandemSearchProvider::activate-note:
   * @note_id: the note the user picked in the Shell
   */
  signals[ACTIVATE_NOTE] = g_signal_new ("activate-note", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * TandemSearchProvider::launch-search:
   * @text: the search, to show in the app
   */
  signals[LAUNCH_SEARCH] = g_signal_new ("launch-search", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tandem_search_provider_init (TandemSearchProvider *self)
{
}

TandemSearchProvider *
tandem_search_provider_new (TandemStore *store)
{
  TandemSearchProvider *self = g_object_new (TANDEM_TYPE_SEARCH_PROVIDER, NULL);

  self->store = g_object_ref (store);
  return self;
}

/**
 * tandem_search_provider_register:
 *
 * Exports the provider at @path on @connection.
 */
gboolean
tandem_search_provider_register (TandemSearchProvider  *self,
                                 GDBusConnection       *connection,
                                 const char            *path,
                                 GError               **error)
{
  static const GDBusInterfaceVTable vtable = { method_call, NULL, NULL };
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (introspection_xml, error);

  g_return_val_if_fail (TANDEM_IS_SEARCH_PROVIDER (self), FALSE);

  if (info == NULL)
    return FALSE;
  self->registration_id = g_dbus_connection_register_object (connection, path, info->interfaces[0],
                                                             &vtable, self, NULL, error);
  if (self->registration_id == 0)
    return FALSE;
  self->connection = g_object_ref (connection);
  return TRUE;
}

void
tandem_search_provider_unregister (TandemSearchProvider *self)
{
  if (self->registration_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->registration_id);
  self->registration_id = 0;
  g_clear_object (&self->connection);
}
