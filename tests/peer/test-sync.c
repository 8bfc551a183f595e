/* test-sync.c: the sync protocol between real peers, in one process
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every peer here is a TandemPeer over a real TandemStore in its own
 * temporary folder; peers talk over TandemMemoryTransport pairs, which
 * deliver frames from idle callbacks, so every test iterates the main
 * context until what it waits for holds, with a deadline that fails it.
 *
 * A relay (two pairs and the test forwarding frames between them) stands
 * for the network in the middle: transparent, it lets a test watch every
 * message or cut the link without closing it; with its own certificate, it
 * is a man in the middle.
 *
 * A man in the middle is a relay with a certificate of its own. A single
 * pair given a wrong fingerprint is not one: both of its ends agree on
 * what they saw, as the two ends of one TLS connection do, so the proof
 * checks out, and what catches it is the certificate pinned for a known
 * member.
 *
 * The hostile-frame tests drive one end of a pair by hand, doing the
 * handshake with the notebook key from the store, then send one message
 * that must be refused each.
 *
 * Every test runs in a subprocess of its own, so that one that fails, or
 * crashes a peer (a critical warning is fatal here), fails alone.
 */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "tandem-event-codec.h"
#include "tandem-membership.h"
#include "tandem-memory-transport.h"
#include "tandem-peer.h"
#include "tandem-wire.h"
#include "tandem-test-files.h"

/* deadlines for what takes a few main-loop turns, and for the timers */
#define QUICK_MS   10000
#define CLOSE_MS    5000

/* ---- messages ---------------------------------------------------------- */

static void
say (const char *format,
     ...) G_GNUC_PRINTF (1, 2);

/* g_test_message(), which a test in a subprocess does not show: there, to
 * stderr, which the parent passes on. */
static void
say (const char *format,
     ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (g_test_subprocess ())
    g_printerr ("# %s\n", message);
  else
    g_test_message ("%s", message);
}

/* ---- the main loop ----------------------------------------------------- */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates until @cond holds; %FALSE if it still does not after
 * @timeout_ms. */
static gboolean
wait_for (Condition cond,
          gpointer  data,
          guint     timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint tick = g_timeout_add (10, wake_up, NULL);
  gboolean held;

  while (!(held = cond (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  return held;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

/* Lets everything run for @ms. */
static void
spin (guint ms)
{
  g_assert_false (wait_for (never, NULL, ms));
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ---- peers ------------------------------------------------------------- */

typedef struct
{
  char *dir;
  TandemStore *store;
  TandemPeer *peer;
  const char *name;
  guint n_connected;        /* "peer-connected" */
  guint n_disconnected;     /* "peer-disconnected" */
  GPtrArray *conflicts;     /* "note/field" from "conflict" */
  char *saved_text;         /* the store's text of the note of the last "note-saved" */
} TestPeer;

static void
on_connected (TandemPeer        *peer,
              TandemSyncSession *session,
              TestPeer          *p)
{
  p->n_connected++;
}

static void
on_disconnected (TandemPeer        *peer,
                 TandemSyncSession *session,
                 const char        *reason,
                 TestPeer          *p)
{
  say ("%s: disconnected from %s: %s", p->name,
                  tandem_sync_session_get_remote_name (session), reason);
  p->n_disconnected++;
}

static void
on_conflict (TandemPeer *peer,
             const char *note_id,
             const char *field,
             TestPeer   *p)
{
  g_ptr_array_add (p->conflicts, g_strdup_printf ("%s/%s", note_id, field));
}

static void
on_notice (TandemPeer *peer,
           const char *kind,
           const char *message,
           TestPeer   *p)
{
  say ("%s: %s: %s", p->name, kind, message);
}

/* what the store holds when the peer says it saved a note */
static void
on_note_saved (TandemPeer *peer,
               const char *note_id,
               TestPeer   *p)
{
  g_free (p->saved_text);
  p->saved_text = tandem_store_load_note_text (p->store, note_id, NULL);
}

static TestPeer *
test_peer_new (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *profile = NULL;
  TestPeer *p = g_new0 (TestPeer, 1);

  p->name = name;
  p->dir = g_dir_make_tmp ("tandem-sync-XXXXXX", &error);
  g_assert_no_error (error);
  profile = g_build_filename (p->dir, "profile", NULL);
  p->store = tandem_store_open (profile, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p->store);
  g_assert_true (tandem_store_set_display_name (p->store, name, &error));
  g_assert_no_error (error);
  p->peer = tandem_peer_new (p->store, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p->peer);
  p->conflicts = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (p->peer, "peer-connected", G_CALLBACK (on_connected), p);
  g_signal_connect (p->peer, "peer-disconnected", G_CALLBACK (on_disconnected), p);
  g_signal_connect (p->peer, "conflict", G_CALLBACK (on_conflict), p);
  g_signal_connect (p->peer, "notice", G_CALLBACK (on_notice), p);
  g_signal_connect (p->peer, "note-saved", G_CALLBACK (on_note_saved), p);
  return p;
}

static void
test_peer_free (TestPeer *p)
{
  g_signal_handlers_disconnect_by_data (p->peer, p);
  g_clear_object (&p->peer);
  drain ();
  g_clear_object (&p->store);
  tandem_test_rm_rf (p->dir);
  g_free (p->dir);
  g_ptr_array_unref (p->conflicts);
  g_free (p->saved_text);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestPeer, test_peer_free)

static const char *
fp (TestPeer *p)
{
  return tandem_peer_get_fingerprint (p->peer);
}

static char *
peer_hex (TestPeer *p)
{
  return tandem_peer_id_to_string (tandem_peer_get_id (p->peer));
}

static guint
n_open_sessions (TestPeer *p)
{
  GPtrArray *sessions = tandem_peer_get_sessions (p->peer);
  guint n = 0;

  for (guint i = 0; i < sessions->len; i++)
    n += tandem_sync_session_is_open (g_ptr_array_index (sessions, i));
  return n;
}

/* The session over @transport, or %NULL once it closed. */
static TandemSyncSession *
session_over (TestPeer        *p,
              TandemTransport *transport)
{
  GPtrArray *sessions = tandem_peer_get_sessions (p->peer);

  for (guint i = 0; i < sessions->len; i++)
    if (tandem_sync_session_get_transport (g_ptr_array_index (sessions, i)) == transport)
      return g_ptr_array_index (sessions, i);
  return NULL;
}

static char *
create_notebook (TestPeer   *p,
                 const char *name)
{
  g_autoptr(GError) error = NULL;
  char *id = tandem_peer_create_notebook (p->peer, name, &error);

  g_assert_no_error (error);
  g_assert_nonnull (id);
  return id;
}

static char *
join (TestPeer   *p,
      const char *invite)
{
  g_autoptr(GError) error = NULL;
  char *id = tandem_peer_join (p->peer, invite, &error);

  g_assert_no_error (error);
  g_assert_nonnull (id);
  return id;
}

static char *
dup_invite (TestPeer   *p,
            const char *notebook_id)
{
  g_autoptr(GError) error = NULL;
  char *invite = tandem_peer_dup_invite (p->peer, notebook_id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (invite);
  return invite;
}

static TandemSavedNote *
get_note (TestPeer   *p,
          const char *note_id)
{
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved = tandem_peer_get_note (p->peer, note_id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (saved);
  return saved;
}

/* A new note holding @text; returns its id. */
static char *
create_note (TestPeer   *p,
             const char *notebook_id,
             const char *text)
{
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved = tandem_peer_create_note (p->peer, notebook_id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (saved);
  if (text != NULL && *text != '\0')
    {
      g_autoptr(TandemEvent) event = tandem_note_insert (tandem_saved_note_get_note (saved), 0, text,
                                                         &error);

      g_assert_no_error (error);
      g_assert_nonnull (event);
      g_assert_true (tandem_peer_commit (p->peer, saved, &error));
      g_assert_no_error (error);
    }
  return g_strdup (tandem_saved_note_get_id (saved));
}

static void
commit (TestPeer        *p,
        TandemSavedNote *saved)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tandem_peer_commit (p->peer, saved, &error));
  g_assert_no_error (error);
}

static void
edit_insert (TestPeer   *p,
             const char *note_id,
             guint       pos,
             const char *text)
{
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved = get_note (p, note_id);
  g_autoptr(TandemEvent) event = tandem_note_insert (tandem_saved_note_get_note (saved), pos, text,
                                                     &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  commit (p, saved);
}

static void
edit_delete (TestPeer   *p,
             const char *note_id,
             guint       pos,
             guint       len)
{
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved = get_note (p, note_id);
  g_autoptr(TandemEvent) event = tandem_note_delete (tandem_saved_note_get_note (saved), pos, len,
                                                     &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  commit (p, saved);
}

/* @value: (transfer floating) */
static void
edit_field (TestPeer   *p,
            const char *note_id,
            const char *field,
            GVariant   *value)
{
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved = get_note (p, note_id);
  g_autoptr(TandemEvent) event = tandem_note_set_field (tandem_saved_note_get_note (saved), field,
                                                        value, &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  commit (p, saved);
}

static void
edit_tag (TestPeer   *p,
          const char *note_id,
          const char *tag,
          gboolean    add)
{
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved = get_note (p, note_id);
  TandemNote *note = tandem_saved_note_get_note (saved);
  g_autoptr(TandemEvent) event = add ? tandem_note_add_to_set (note, "tags", tag, &error)
                                     : tandem_note_remove_from_set (note, "tags", tag, &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  commit (p, saved);
}

static char *
note_text (TestPeer   *p,
           const char *note_id)
{
  return tandem_note_dup_text (tandem_saved_note_get_note (get_note (p, note_id)));
}

static char *
note_fields (TestPeer   *p,
             const char *note_id)
{
  return tandem_saved_note_dup_fields_json (tandem_saved_note_get_note (get_note (p, note_id)));
}

static char *
note_version (TestPeer   *p,
              const char *note_id)
{
  return tandem_version_vector_to_string (tandem_note_get_version (tandem_saved_note_get_note (get_note (p, note_id))));
}

static gboolean
has_note (TestPeer   *p,
          const char *note_id)
{
  return tandem_peer_get_note_notebook (p->peer, note_id) != NULL;
}

static void
assert_member (TestPeer *p,
               const char *notebook_id,
               TestPeer *member)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStoreMember) m = tandem_store_dup_member (p->store, notebook_id,
                                                            tandem_peer_get_id (member->peer), &error);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpstr (m->name, ==, member->name);
  g_assert_cmpstr (m->cert_fingerprint, ==, fp (member));
}

static void
assert_not_member (TestPeer   *p,
                   const char *notebook_id,
                   TestPeer   *other)
{
  g_autoptr(TandemStoreMember) m = tandem_store_dup_member (p->store, notebook_id,
                                                            tandem_peer_get_id (other->peer), NULL);

  g_assert_null (m);
}

static gint
compare_lines (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Everything a peer holds, as text: notebooks with their keys, members,
 * and every note's text, fields, log, causal buffer and version. */
static char *
snapshot (TestPeer *p)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) notebooks = tandem_store_list_notebooks (p->store, &error);
  GString *out = g_string_new (NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < notebooks->len; i++)
    {
      TandemStoreNotebook *nb = g_ptr_array_index (notebooks, i);
      g_autofree char *key = tandem_hex_encode (g_bytes_get_data (nb->secret_key, NULL),
                                                g_bytes_get_size (nb->secret_key));
      g_autoptr(GPtrArray) members = tandem_store_list_members (p->store, nb->id, &error);
      g_autoptr(GPtrArray) notes = NULL;
      g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

      g_assert_no_error (error);
      g_string_append_printf (out, "notebook %s \"%s\" key %s policies %s\n", nb->id, nb->name, key,
                              nb->field_policies);
      for (guint k = 0; k < members->len; k++)
        {
          TandemStoreMember *m = g_ptr_array_index (members, k);

          g_ptr_array_add (lines, g_strdup_printf ("  member %016" G_GINT64_MODIFIER "x %s %s\n",
                                                   m->peer_id, m->name, m->cert_fingerprint));
        }
      notes = tandem_store_list_notes (p->store, nb->id, &error);
      g_assert_no_error (error);
      for (guint k = 0; k < notes->len; k++)
        {
          TandemStoreNoteInfo *info = g_ptr_array_index (notes, k);
          g_autoptr(TandemStoreNote) note = NULL;
          g_autofree char *version = NULL;

          g_assert_true (tandem_store_load_note (p->store, info->id, &note, &error));
          g_assert_no_error (error);
          version = note_version (p, info->id);
          g_ptr_array_add (lines, g_strdup_printf ("  note %s text \"%s\" fields %s events %" G_GUINT64_FORMAT
                                                   " pending %u seq %" G_GUINT64_FORMAT " version %s"
                                                   " buffered %u\n",
                                                   info->id, note->text, note->fields, note->log_events,
                                                   note->pending->len, note->seq_counter, version,
                                                   tandem_note_get_n_pending (tandem_saved_note_get_note (get_note (p, info->id)))));
        }
      g_ptr_array_sort (lines, compare_lines);
      for (guint k = 0; k < lines->len; k++)
        g_string_append (out, g_ptr_array_index (lines, k));
    }
  return g_string_free (out, FALSE);
}

/* ---- links ------------------------------------------------------------- */

typedef struct
{
  TandemTransport *client;
  TandemTransport *server;
} Link;

static void
link_clear (Link *link)
{
  g_clear_object (&link->client);
  g_clear_object (&link->server);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Link, link_clear)

/* @client dialled @server, and each saw the other's real certificate. */
static void
link_peers (TestPeer *client,
            TestPeer *server,
            Link     *link)
{
  tandem_memory_transport_new_pair (fp (client), fp (server), &link->client, &link->server);
  tandem_peer_add_transport (client->peer, link->client);
  tandem_peer_add_transport (server->peer, link->server);
}

/* The network between two peers: two pairs, and the test passes frames
 * from one to the other, noting each message's type. */
typedef struct
{
  TandemTransport *to_server;   /* the client end of the server's pair */
  TandemTransport *to_client;   /* the server end of the client's pair */
  TandemTransport *server_end;  /* given to the server peer */
  TandemTransport *client_end;  /* given to the client peer */
  gboolean cut;                 /* drop everything, close nothing */
  GHashTable *seen;             /* message types that passed */
} Relay;

static void
relay_note (Relay      *relay,
            const char *text,
            guint64     len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (json_parser_load_from_data (parser, text, (gssize) len, NULL) &&
      (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    g_hash_table_add (relay->seen,
                      g_strdup (json_object_get_string_member_with_default (json_node_get_object (root),
                                                                            "type", "?")));
}

static void
relay_from_server (TandemTransport *transport,
                   const char      *text,
                   guint64          len,
                   Relay           *relay)
{
  if (relay->cut)
    return;
  relay_note (relay, text, len);
  tandem_transport_send (relay->to_client, text, len);
}

static void
relay_from_client (TandemTransport *transport,
                   const char      *text,
                   guint64          len,
                   Relay           *relay)
{
  if (relay->cut)
    return;
  relay_note (relay, text, len);
  tandem_transport_send (relay->to_server, text, len);
}

static void
relay_closed (TandemTransport *transport,
              const char      *reason,
              Relay           *relay)
{
  if (relay->cut)
    return;
  tandem_transport_close (transport == relay->to_server ? relay->to_client : relay->to_server, reason);
}

/* @client dials @server through a relay. @middle: %NULL for a plain link,
 * or the certificate of a man in the middle, which each side then sees
 * instead of the other's. */
static Relay *
relay_new (TestPeer   *client,
           TestPeer   *server,
           const char *middle)
{
  Relay *relay = g_new0 (Relay, 1);

  relay->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  tandem_memory_transport_new_pair (middle ? middle : fp (client), fp (server),
                                    &relay->to_server, &relay->server_end);
  tandem_memory_transport_new_pair (fp (client), middle ? middle : fp (server),
                                    &relay->client_end, &relay->to_client);
  g_signal_connect (relay->to_server, "received", G_CALLBACK (relay_from_server), relay);
  g_signal_connect (relay->to_client, "received", G_CALLBACK (relay_from_client), relay);
  g_signal_connect (relay->to_server, "closed", G_CALLBACK (relay_closed), relay);
  g_signal_connect (relay->to_client, "closed", G_CALLBACK (relay_closed), relay);
  tandem_peer_add_transport (client->peer, relay->client_end);
  tandem_peer_add_transport (server->peer, relay->server_end);
  return relay;
}

static void
relay_free (Relay *relay)
{
  g_signal_handlers_disconnect_by_data (relay->to_server, relay);
  g_signal_handlers_disconnect_by_data (relay->to_client, relay);
  g_clear_object (&relay->to_server);
  g_clear_object (&relay->to_client);
  g_clear_object (&relay->server_end);
  g_clear_object (&relay->client_end);
  g_hash_table_unref (relay->seen);
  g_free (relay);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Relay, relay_free)

/* Fails unless every message type that passed is one of @allowed. */
static void
assert_relay_saw_only (Relay              *relay,
                       const char * const *allowed)
{
  GHashTableIter iter;
  const char *type;

  g_hash_table_iter_init (&iter, relay->seen);
  while (g_hash_table_iter_next (&iter, (gpointer *) &type, NULL))
    {
      if (!g_strv_contains (allowed, type))
        g_error ("a \"%s\" message went over a link that must carry none", type);
    }
}

/* ---- waiting for peers ------------------------------------------------- */

typedef struct
{
  TestPeer *peers[4];
  guint n;
  const char *note_id;      /* nullable */
} Group;

/* Every peer has an open session and (with a note) holds the note at the
 * same version as the first, with nothing waiting for parents. Whether
 * tandem_peer_is_synced() agrees is tested on its own: see
 * test_synced_one_way(). */
static gboolean
group_converged (gpointer data)
{
  Group *g = data;
  g_autofree char *first = NULL;

  for (guint i = 0; i < g->n; i++)
    {
      TestPeer *p = g->peers[i];

      if (n_open_sessions (p) == 0)
        return FALSE;
      if (g->note_id != NULL)
        {
          g_autofree char *version = NULL;

          if (!has_note (p, g->note_id) ||
              tandem_note_get_n_pending (tandem_saved_note_get_note (get_note (p, g->note_id))) > 0)
            return FALSE;
          version = note_version (p, g->note_id);
          if (first == NULL)
            first = g_steal_pointer (&version);
          else if (!g_str_equal (first, version))
            return FALSE;
        }
    }
  return TRUE;
}

static gboolean
group_synced (gpointer data)
{
  Group *g = data;

  for (guint i = 0; i < g->n; i++)
    if (n_open_sessions (g->peers[i]) == 0 || !tandem_peer_is_synced (g->peers[i]->peer, NULL))
      return FALSE;
  return TRUE;
}

static void
describe_group (Group *g)
{
  for (guint i = 0; i < g->n; i++)
    {
      TestPeer *p = g->peers[i];
      const char *reason = "synced";

      tandem_peer_is_synced (p->peer, &reason);
      say ("%s: %u open sessions, %s", p->name, n_open_sessions (p), reason);
      if (g->note_id != NULL && has_note (p, g->note_id))
        {
          g_autofree char *version = note_version (p, g->note_id);
          g_autofree char *text = note_text (p, g->note_id);

          say ("%s: note at %s: \"%.80s\"", p->name, version, text);
        }
    }
}

/* Waits for the group to converge on @note_id, then checks that every
 * replica shows the same text and fields, in memory and in its store. */
static void
assert_converged (Group      *g,
                  const char *note_id)
{
  g_autofree char *text0 = NULL;
  g_autofree char *fields0 = NULL;
  g_autofree char *version0 = NULL;

  g->note_id = note_id;
  /* converged in memory, and saved: runs from others are saved a moment
   * after they come (SETTLE_MS in tandem-peer.c), and acknowledged then,
   * so a group that is synced has saved them */
  if (!wait_for (group_converged, g, QUICK_MS) || !wait_for (group_synced, g, QUICK_MS))
    {
      describe_group (g);
      g_assert_true (group_converged (g));
      g_assert_true (group_synced (g));
    }
  text0 = note_text (g->peers[0], note_id);
  fields0 = note_fields (g->peers[0], note_id);
  version0 = note_version (g->peers[0], note_id);
  for (guint i = 0; i < g->n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = note_text (g->peers[i], note_id);
      g_autofree char *fields = note_fields (g->peers[i], note_id);
      g_autofree char *version = note_version (g->peers[i], note_id);
      g_autofree char *stored = tandem_store_load_note_text (g->peers[i]->store, note_id, &error);
      g_autoptr(TandemStoreNote) note = NULL;

      g_assert_cmpstr (text, ==, text0);
      g_assert_cmpstr (fields, ==, fields0);
      g_assert_cmpstr (version, ==, version0);
      g_assert_no_error (error);
      g_assert_cmpstr (stored, ==, text0);
      g_assert_true (tandem_store_load_note (g->peers[i]->store, note_id, &note, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (note->fields, ==, fields0);
      g_assert_cmpuint (note->pending->len, ==, 0);
    }
}

static gboolean
link_closed (gpointer data)
{
  Link *link = data;

  return !tandem_transport_is_open (link->client) && !tandem_transport_is_open (link->server);
}

static gboolean
no_open_sessions (gpointer data)
{
  Group *g = data;

  for (guint i = 0; i < g->n; i++)
    if (n_open_sessions (g->peers[i]) > 0)
      return FALSE;
  return TRUE;
}

/* A's notebook with one note, B joined through the invite and synced. */
typedef struct
{
  TestPeer *a;
  TestPeer *b;
  char *notebook_id;
  char *note_id;
  Link link;
} Pair;

static void
pair_up (Pair *pair)
{
  g_autofree char *invite = NULL;
  g_autofree char *joined = NULL;
  Group g = { { pair->a, pair->b }, 2 };

  pair->notebook_id = create_notebook (pair->a, "Plans");
  pair->note_id = create_note (pair->a, pair->notebook_id, "Hello from A");
  invite = dup_invite (pair->a, pair->notebook_id);
  joined = join (pair->b, invite);
  g_assert_cmpstr (joined, ==, pair->notebook_id);
  link_peers (pair->b, pair->a, &pair->link);
  assert_converged (&g, pair->note_id);
  g_assert_true (wait_for (group_synced, &g, QUICK_MS));
}

static void
pair_clear (Pair *pair)
{
  link_clear (&pair->link);
  g_clear_pointer (&pair->notebook_id, g_free);
  g_clear_pointer (&pair->note_id, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Pair, pair_clear)

/* ---- invite and join --------------------------------------------------- */

static void
test_invite_join (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_autoptr(GError) error = NULL;
  g_autofree char *notebook_id = create_notebook (a, "Plans");
  g_autofree char *note_id = create_note (a, notebook_id, "Hello from A");
  g_autofree char *invite = dup_invite (a, notebook_id);
  g_autofree char *joined = NULL;
  g_autofree char *stored = NULL;
  g_autoptr(TandemStoreNotebook) nb = NULL;
  g_autoptr(GPtrArray) b_notes = NULL;
  g_auto(Link) link = { NULL, };
  Group g = { { a, b }, 2 };
  TandemSyncSession *sa, *sb;

  edit_field (a, note_id, "priority", g_variant_new_int64 (3));

  joined = join (b, invite);
  g_assert_cmpstr (joined, ==, notebook_id);
  /* joined, but nothing of the notebook yet: no name, no notes, no members */
  nb = tandem_store_dup_notebook (b->store, notebook_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nb->name, ==, "");
  g_clear_pointer (&nb, tandem_store_notebook_free);
  b_notes = tandem_store_list_notes (b->store, notebook_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (b_notes->len, ==, 0);
  assert_not_member (b, notebook_id, a);
  assert_not_member (a, notebook_id, b);
  /* an invite without addresses dials nothing: B is not "connecting" */
  g_assert_true (tandem_peer_is_synced (b->peer, NULL));

  link_peers (b, a, &link);
  assert_converged (&g, note_id);
  if (!wait_for (group_synced, &g, QUICK_MS))
    describe_group (&g);
  g_assert_true (tandem_peer_is_synced (a->peer, NULL));
  g_assert_true (tandem_peer_is_synced (b->peer, NULL));

  /* each knows the other as a member, with its certificate pinned */
  assert_member (a, notebook_id, b);
  assert_member (b, notebook_id, a);
  /* B learnt the notebook's name */
  nb = tandem_store_dup_notebook (b->store, notebook_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nb->name, ==, "Plans");
  stored = tandem_store_load_note_text (b->store, note_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (stored, ==, "Hello from A");
  g_assert_cmpstr (tandem_peer_get_note_notebook (b->peer, note_id), ==, notebook_id);

  /* one session each, open on the notebook, naming the other */
  sa = session_over (a, link.server);
  sb = session_over (b, link.client);
  g_assert_nonnull (sa);
  g_assert_nonnull (sb);
  g_assert_true (tandem_sync_session_has_notebook (sa, notebook_id));
  g_assert_true (tandem_sync_session_has_notebook (sb, notebook_id));
  g_assert_cmpuint (tandem_sync_session_get_remote_peer (sa), ==, tandem_peer_get_id (b->peer));
  g_assert_cmpuint (tandem_sync_session_get_remote_peer (sb), ==, tandem_peer_get_id (a->peer));
  g_assert_cmpstr (tandem_sync_session_get_remote_name (sa), ==, "Bob");
  g_assert_cmpstr (tandem_sync_session_get_remote_name (sb), ==, "Alice");
  g_assert_cmpuint (a->n_connected, ==, 1);
  g_assert_cmpuint (b->n_connected, ==, 1);
  g_assert_cmpuint (a->n_disconnected, ==, 0);
  g_assert_cmpuint (b->n_disconnected, ==, 0);

  /* closing the link is seen on both sides, once */
  tandem_transport_close (link.client, "test over");
  g_assert_true (wait_for (no_open_sessions, &g, CLOSE_MS));
  g_assert_cmpuint (a->n_disconnected, ==, 1);
  g_assert_cmpuint (b->n_disconnected, ==, 1);
  g_assert_cmpuint (tandem_peer_get_sessions (a->peer)->len, ==, 0);
  g_assert_cmpuint (tandem_peer_get_sessions (b->peer)->len, ==, 0);
}

/* ---- edits ------------------------------------------------------------- */

/* An edit went from A to B and B acknowledged it: both hold the same
 * events, so both must say they are synced (a driver's wait-synced on
 * either side rests on it). */
static void
test_synced_one_way (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_auto(Pair) pair = { a, b, };
  Group g = { { a, b }, 2 };
  const char *reason = NULL;

  pair_up (&pair);
  edit_insert (a, pair.note_id, 0, "one way: ");
  assert_converged (&g, pair.note_id);
  if (!wait_for (group_synced, &g, 3000))
    describe_group (&g);
  /* the sender heard the acknowledgement */
  g_assert_true (tandem_peer_is_synced (a->peer, &reason));
  /* the receiver holds nothing the sender lacks */
  reason = NULL;
  if (!tandem_peer_is_synced (b->peer, &reason))
    say ("the receiver says: %s", reason);
  g_assert_true (tandem_peer_is_synced (b->peer, NULL));
  /* both said when the edit was on disk: the typist on its commit, the
   * receiver after the remote batch was saved */
  {
    g_autofree char *text = tandem_note_dup_text (tandem_saved_note_get_note (get_note (a, pair.note_id)));

    g_assert_true (g_str_has_prefix (text, "one way: "));
    g_assert_cmpstr (a->saved_text, ==, text);
    g_assert_cmpstr (b->saved_text, ==, text);
  }
}

/* A shares one notebook with B and another with C. What A takes from C
 * it acknowledges to C alone: B, who does not share that notebook, must
 * hear nothing of it (it would refuse the message and drop the link). */
static void
test_two_notebooks (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_autoptr(TestPeer) c = test_peer_new ("Carol");
  g_auto(Pair) ab = { a, b, };
  g_auto(Pair) ac = { a, c, };
  Group g_ab = { { a, b }, 2 };
  Group g_ac = { { a, c }, 2 };

  pair_up (&ab);
  pair_up (&ac);
  edit_insert (c, ac.note_id, 0, "Carol's: ");
  assert_converged (&g_ac, ac.note_id);
  spin (300);
  g_assert_cmpuint (b->n_disconnected, ==, 0);
  g_assert_cmpuint (n_open_sessions (b), ==, 1);
  edit_insert (a, ab.note_id, 0, "still linked: ");
  assert_converged (&g_ab, ab.note_id);
}

/* Text holding control characters syncs: json-glib writes U+001F raw,
 * which the receiving peer refused as malformed JSON, closing the link at
 * every try (found by fuzz-markdown and fuzz-wire). */
static void
test_control_characters (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_auto(Pair) pair = { a, b, };
  Group g = { { a, b }, 2 };
  g_autofree char *text = NULL;

  pair_up (&pair);
  edit_insert (a, pair.note_id, 0, "unit\x1fseparator\x01\x1e ");
  assert_converged (&g, pair.note_id);
  text = note_text (b, pair.note_id);
  g_assert_cmpstr (text, ==, "unit\x1fseparator\x01\x1e Hello from A");
}

static gboolean
has_conflict (TestPeer   *p,
              const char *note_id,
              const char *field)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", note_id, field);

  for (guint i = 0; i < p->conflicts->len; i++)
    if (g_str_equal (g_ptr_array_index (p->conflicts, i), key))
      return TRUE;
  return FALSE;
}

static void
test_edits (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_auto(Pair) pair = { a, b, };
  Group g = { { a, b }, 2 };
  g_autofree char *text = NULL;
  g_autofree char *fields = NULL;
  g_autofree char *b_note = NULL;
  g_autofree char *long_text = NULL;
  g_autoptr(GVariant) title = NULL;
  g_autoptr(GPtrArray) titles = NULL;
  g_autoptr(GPtrArray) tags = NULL;
  const char *note;
  GString *paste;

  pair_up (&pair);
  note = pair.note_id;

  /* one way, then the other */
  edit_insert (a, note, 12, ", and more");
  assert_converged (&g, note);
  text = note_text (b, note);
  g_assert_cmpstr (text, ==, "Hello from A, and more");
  g_clear_pointer (&text, g_free);

  edit_delete (b, note, 0, 6);
  edit_insert (b, note, 0, "Greetings ");
  assert_converged (&g, note);
  text = note_text (a, note);
  g_assert_cmpstr (text, ==, "Greetings from A, and more");
  g_clear_pointer (&text, g_free);

  /* concurrent: both edit before either hears of the other */
  edit_insert (a, note, 0, "[A]");
  edit_insert (b, note, 0, "[B]");
  edit_delete (a, note, 13, 5);       /* "from " */
  edit_insert (b, note, 15, "«B»");   /* "fr|om", inside what A deleted */
  edit_delete (b, note, 3, 10);       /* "Greetings " */
  assert_converged (&g, note);
  text = note_text (a, note);
  say ("after concurrent edits: \"%s\"", text);
  g_assert_nonnull (strstr (text, "[A]"));
  g_assert_nonnull (strstr (text, "[B]"));
  g_assert_nonnull (strstr (text, "«B»A, and more"));
  g_assert_null (strstr (text, "fr"));
  g_assert_null (strstr (text, "Greetings"));
  g_clear_pointer (&text, g_free);

  /* many small edits from both, each committed and sent at once */
  for (guint i = 0; i < 100; i++)
    {
      edit_insert (a, note, 0, "a");
      edit_insert (b, note, 0, "b");
      if (i % 10 == 9)
        spin (1);
    }
  assert_converged (&g, note);
  text = note_text (a, note);
  g_assert_cmpuint (g_utf8_strlen (text, -1), >=, 200);
  g_clear_pointer (&text, g_free);

  /* fields: last writer wins, sets merge, a manual field shows both */
  edit_field (a, note, "priority", g_variant_new_int64 (5));
  edit_field (b, note, "priority", g_variant_new_int64 (7));
  edit_field (b, note, "done", g_variant_new_boolean (TRUE));
  edit_tag (a, note, "work", TRUE);
  edit_tag (b, note, "home", TRUE);
  edit_field (a, note, "title", g_variant_new_string ("Plan A"));
  edit_field (b, note, "title", g_variant_new_string ("Plan B"));
  assert_converged (&g, note);
  fields = note_fields (a, note);
  say ("fields after concurrent writes: %s", fields);
  g_assert_nonnull (strstr (fields, "\"done\":true"));
  tags = tandem_note_dup_set (tandem_saved_note_get_note (get_note (a, note)), "tags");
  g_assert_cmpuint (tags->len, ==, 2);
  titles = tandem_note_dup_field_values (tandem_saved_note_get_note (get_note (b, note)), "title");
  g_assert_cmpuint (titles->len, ==, 2);
  g_assert_true (has_conflict (a, note, "title"));
  g_assert_true (has_conflict (b, note, "title"));
  g_clear_pointer (&titles, g_ptr_array_unref);
  g_clear_pointer (&tags, g_ptr_array_unref);
  g_clear_pointer (&fields, g_free);

  /* settle the title, drop a tag, unset a field */
  edit_field (a, note, "title", g_variant_new_string ("Plan C"));
  edit_tag (b, note, "work", FALSE);
  edit_field (b, note, "done", NULL);
  assert_converged (&g, note);
  titles = tandem_note_dup_field_values (tandem_saved_note_get_note (get_note (b, note)), "title");
  g_assert_cmpuint (titles->len, ==, 1);
  title = tandem_note_dup_field (tandem_saved_note_get_note (get_note (b, note)), "title");
  g_assert_nonnull (title);
  g_assert_cmpstr (g_variant_get_string (title, NULL), ==, "Plan C");
  tags = tandem_note_dup_set (tandem_saved_note_get_note (get_note (b, note)), "tags");
  g_assert_cmpuint (tags->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (tags, 0), ==, "home");

  /* a note made at B reaches A */
  b_note = create_note (b, pair.notebook_id, "B's own note");
  edit_field (b, b_note, "priority", g_variant_new_int64 (1));
  assert_converged (&g, b_note);
  g_assert_cmpstr (tandem_peer_get_note_notebook (a->peer, b_note), ==, pair.notebook_id);
  text = note_text (a, b_note);
  g_assert_cmpstr (text, ==, "B's own note");
  g_clear_pointer (&text, g_free);

  /* a paste bigger than a run and a batch may be arrives whole */
  paste = g_string_new (NULL);
  for (guint i = 0; paste->len < 300000; i++)
    g_string_append_printf (paste, "line %u — ünïcödé\n", i);
  long_text = g_string_free (paste, FALSE);
  edit_insert (a, b_note, 0, long_text);
  assert_converged (&g, b_note);
  text = note_text (b, b_note);
  g_assert_true (g_str_has_prefix (text, long_text));
  g_assert_true (g_str_has_suffix (text, "B's own note"));

  /* and the first note is still the same on both */
  assert_converged (&g, note);
  g_assert_cmpuint (a->n_disconnected + b->n_disconnected, ==, 0);
}

/* ---- a chain A–B–C ----------------------------------------------------- */

static void
test_relay_chain (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_autoptr(TestPeer) c = test_peer_new ("Carol");
  g_auto(Pair) pair = { a, b, };
  g_auto(Link) bc = { NULL, };
  g_autofree char *invite = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *text = NULL;
  g_autofree char *c_note = NULL;
  Group g = { { a, b, c }, 3 };
  GPtrArray *sessions;
  const char *note;

  pair_up (&pair);
  note = pair.note_id;
  invite = dup_invite (a, pair.notebook_id);
  joined = join (c, invite);
  g_assert_cmpstr (joined, ==, pair.notebook_id);
  link_peers (c, b, &bc);
  assert_converged (&g, note);

  /* A and C never met; B told C of A */
  sessions = tandem_peer_get_sessions (a->peer);
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpuint (tandem_sync_session_get_remote_peer (g_ptr_array_index (sessions, 0)), ==,
                    tandem_peer_get_id (b->peer));
  sessions = tandem_peer_get_sessions (c->peer);
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpuint (tandem_sync_session_get_remote_peer (g_ptr_array_index (sessions, 0)), ==,
                    tandem_peer_get_id (b->peer));
  assert_member (c, pair.notebook_id, a);
  assert_member (c, pair.notebook_id, b);
  assert_member (b, pair.notebook_id, c);

  /* C to A through B, and back */
  edit_insert (c, note, 0, "C says: ");
  assert_converged (&g, note);
  text = note_text (a, note);
  g_assert_cmpstr (text, ==, "C says: Hello from A");
  g_clear_pointer (&text, g_free);

  edit_insert (a, note, 20, "!");
  assert_converged (&g, note);
  text = note_text (c, note);
  g_assert_cmpstr (text, ==, "C says: Hello from A!");
  g_clear_pointer (&text, g_free);

  /* the two ends edit at once; the middle too */
  edit_insert (a, note, 0, "<a>");
  edit_insert (c, note, 0, "<c>");
  edit_insert (b, note, 0, "<b>");
  edit_field (a, note, "priority", g_variant_new_int64 (1));
  edit_field (c, note, "priority", g_variant_new_int64 (2));
  edit_tag (a, note, "from-a", TRUE);
  edit_tag (c, note, "from-c", TRUE);
  assert_converged (&g, note);
  text = note_text (b, note);
  g_assert_nonnull (strstr (text, "<a>"));
  g_assert_nonnull (strstr (text, "<b>"));
  g_assert_nonnull (strstr (text, "<c>"));
  g_clear_pointer (&text, g_free);

  /* a note made at one end reaches the other */
  c_note = create_note (c, pair.notebook_id, "made at C");
  assert_converged (&g, c_note);
  text = note_text (a, c_note);
  g_assert_cmpstr (text, ==, "made at C");
}

/* ---- a stranger -------------------------------------------------------- */

static gboolean
relay_closed_both (gpointer data)
{
  Relay *relay = data;

  return !tandem_transport_is_open (relay->server_end) && !tandem_transport_is_open (relay->client_end);
}

typedef struct
{
  char *reason;
  gint64 when;
} Closed;

static void
on_session_closed (TandemSyncSession *session,
                   const char        *reason,
                   Closed            *closed)
{
  g_assert_null (closed->reason);
  closed->reason = g_strdup (reason);
  closed->when = g_get_monotonic_time ();
}

static void
closed_clear (Closed *closed)
{
  g_clear_pointer (&closed->reason, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Closed, closed_clear)

static void
watch_session (TestPeer        *p,
               TandemTransport *transport,
               Closed          *closed)
{
  TandemSyncSession *session = session_over (p, transport);

  g_assert_nonnull (session);
  g_signal_connect (session, "closed", G_CALLBACK (on_session_closed), closed);
}

static void
test_stranger (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_autoptr(TestPeer) s = test_peer_new ("Stranger");
  g_auto(Pair) pair = { a, b, };
  g_autoptr(Relay) relay = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret_nb = create_notebook (s, "Secret");
  g_autofree char *secret_note G_GNUC_UNUSED = create_note (s, secret_nb, "the stranger's own");
  g_autofree char *a_before = NULL;
  g_autofree char *s_before = NULL;
  g_autofree char *a_after = NULL;
  g_autofree char *s_after = NULL;
  g_autoptr(TandemStoreNotebook) leaked = NULL;
  g_autofree char *leaked_text = NULL;
  g_auto(Closed) at_a = { NULL, };
  g_auto(Closed) at_s = { NULL, };
  static const char * const handshake[] = { "hello", "auth", "ping", NULL };
  static const char * const handshake_and_error[] = { "hello", "auth", "ping", "error", NULL };
  TandemSyncSession *sa, *ss;
  TandemSyncSession *member_link;
  gint64 start;

  pair_up (&pair);
  member_link = session_over (a, pair.link.server);
  g_assert_nonnull (member_link);
  a_before = snapshot (a);
  s_before = snapshot (s);

  relay = relay_new (s, a, NULL);
  start = g_get_monotonic_time ();
  watch_session (a, relay->server_end, &at_a);
  watch_session (s, relay->client_end, &at_s);
  spin (500);

  /* they said hello and proved what they could; nothing opened */
  sa = session_over (a, relay->server_end);
  ss = session_over (s, relay->client_end);
  g_assert_nonnull (sa);
  g_assert_nonnull (ss);
  g_assert_false (tandem_sync_session_is_open (sa));
  g_assert_false (tandem_sync_session_is_open (ss));
  g_assert_cmpuint (tandem_sync_session_get_remote_peer (sa), ==, tandem_peer_get_id (s->peer));
  g_assert_true (g_hash_table_contains (relay->seen, "hello"));
  g_assert_true (g_hash_table_contains (relay->seen, "auth"));
  assert_relay_saw_only (relay, handshake);
  /* a stranger does not hold A back from being synced */
  g_assert_true (tandem_peer_is_synced (a->peer, NULL));

  /* nothing of A reached the stranger, nothing changed at A */
  g_assert_false (has_note (s, pair.note_id));
  leaked = tandem_store_dup_notebook (s->store, pair.notebook_id, NULL);
  g_assert_null (leaked);
  leaked_text = tandem_store_load_note_text (s->store, pair.note_id, &error);
  g_assert_null (leaked_text);
  g_assert_nonnull (error);
  g_clear_error (&error);
  assert_not_member (a, pair.notebook_id, s);
  a_after = snapshot (a);
  s_after = snapshot (s);
  g_assert_cmpstr (a_after, ==, a_before);
  g_assert_cmpstr (s_after, ==, s_before);
  g_clear_pointer (&a_after, g_free);
  g_clear_pointer (&s_after, g_free);
  g_assert_cmpuint (a->n_connected, ==, 1);
  g_assert_cmpuint (s->n_connected, ==, 0);

  /* after the handshake time the stranger is shown the door */
  g_assert_true (wait_for (relay_closed_both, relay, TANDEM_SESSION_HANDSHAKE_MS + 3000));
  say ("the stranger was closed after %.1f s: %s / %s",
                  (g_get_monotonic_time () - start) / 1e6, at_a.reason, at_s.reason);
  g_assert_nonnull (at_a.reason);
  g_assert_nonnull (at_s.reason);
  g_assert_cmpint (MIN (at_a.when, at_s.when) - start, >=, (TANDEM_SESSION_HANDSHAKE_MS - 500) * 1000);
  g_assert_nonnull (strstr (at_a.reason, "no notebook in common"));
  g_assert_nonnull (strstr (at_s.reason, "no notebook in common"));
  g_assert_null (session_over (a, relay->server_end));
  g_assert_null (session_over (s, relay->client_end));
  assert_relay_saw_only (relay, handshake_and_error);
  a_after = snapshot (a);
  s_after = snapshot (s);
  g_assert_cmpstr (a_after, ==, a_before);
  g_assert_cmpstr (s_after, ==, s_before);
  g_assert_cmpuint (a->n_disconnected, ==, 0);
  g_assert_cmpuint (s->n_disconnected, ==, 0);

  /* meanwhile the members' link, quiet for longer than a dead one, lived
   * on its pings */
  g_assert_true (session_over (a, pair.link.server) == member_link);
  g_assert_true (tandem_sync_session_is_open (member_link));
  edit_insert (a, pair.note_id, 0, "still here: ");
  {
    Group g = { { a, b }, 2 };

    assert_converged (&g, pair.note_id);
  }
}

/* ---- a man in the middle ----------------------------------------------- */

#define MIDDLE_FP "6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d6d"

/* The relay shows each side its own certificate: both proofs fail. */
static void
test_mitm_relay (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_autofree char *notebook_id = create_notebook (a, "Plans");
  g_autofree char *note_id = create_note (a, notebook_id, "for members only");
  g_autofree char *invite = dup_invite (a, notebook_id);
  g_autofree char *joined G_GNUC_UNUSED = join (b, invite);
  g_autofree char *a_before = snapshot (a);
  g_autofree char *b_before = snapshot (b);
  g_autofree char *a_after = NULL;
  g_autofree char *b_after = NULL;
  g_autoptr(Relay) relay = NULL;
  g_auto(Closed) at_a = { NULL, };
  g_auto(Closed) at_b = { NULL, };
  static const char * const handshake_and_error[] = { "hello", "auth", "ping", "error", NULL };

  relay = relay_new (b, a, MIDDLE_FP);
  watch_session (a, relay->server_end, &at_a);
  watch_session (b, relay->client_end, &at_b);
  g_assert_true (wait_for (relay_closed_both, relay, CLOSE_MS));
  say ("closed: at A \"%s\", at B \"%s\"", at_a.reason, at_b.reason);
  g_assert_nonnull (at_a.reason);
  g_assert_nonnull (at_b.reason);
  g_assert_nonnull (strstr (at_a.reason, "proof"));
  g_assert_nonnull (strstr (at_b.reason, "proof"));

  /* nothing went over but the handshake, nothing was taken */
  assert_relay_saw_only (relay, handshake_and_error);
  g_assert_false (has_note (b, note_id));
  assert_not_member (a, notebook_id, b);
  assert_not_member (b, notebook_id, a);
  a_after = snapshot (a);
  b_after = snapshot (b);
  g_assert_cmpstr (a_after, ==, a_before);
  g_assert_cmpstr (b_after, ==, b_before);
  g_assert_cmpuint (a->n_connected + b->n_connected, ==, 0);

  /* the same two, with nobody in the middle, get on */
  {
    g_auto(Link) link = { NULL, };
    Group g = { { a, b }, 2 };

    link_peers (b, a, &link);
    assert_converged (&g, note_id);
  }
}

/* A member shows a certificate other than the one pinned for it (both ends
 * of one pair agree on it, so the proof itself checks out). @wrong_client:
 * B's is wrong as A sees it, else A's as B sees it. */
static void
test_mitm_pinned (gconstpointer data)
{
  gboolean wrong_client = GPOINTER_TO_INT (data);
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_auto(Pair) pair = { a, b, };
  g_auto(Link) link = { NULL, };
  g_auto(Closed) at_a = { NULL, };
  g_auto(Closed) at_b = { NULL, };
  g_autofree char *a_before = NULL;
  g_autofree char *b_before = NULL;
  g_autofree char *a_after = NULL;
  g_autofree char *b_after = NULL;
  g_autofree char *text = NULL;
  Group g = { { a, b }, 2 };
  TestPeer *refuser = wrong_client ? a : b;

  pair_up (&pair);
  tandem_transport_close (pair.link.client, "bye");
  g_assert_true (wait_for (no_open_sessions, &g, CLOSE_MS));
  edit_insert (a, pair.note_id, 0, "not for impostors: ");
  edit_insert (b, pair.note_id, 0, "nor this: ");
  a_before = snapshot (a);
  b_before = snapshot (b);

  tandem_memory_transport_new_pair (wrong_client ? MIDDLE_FP : fp (b), wrong_client ? fp (a) : MIDDLE_FP,
                                    &link.client, &link.server);
  tandem_peer_add_transport (b->peer, link.client);
  tandem_peer_add_transport (a->peer, link.server);
  watch_session (a, link.server, &at_a);
  watch_session (b, link.client, &at_b);
  g_assert_true (wait_for (no_open_sessions, &g, CLOSE_MS));
  g_assert_true (wait_for (link_closed, &link, CLOSE_MS));
  say ("closed: at A \"%s\", at B \"%s\"", at_a.reason, at_b.reason);
  g_assert_nonnull (at_a.reason);
  g_assert_nonnull (at_b.reason);
  g_assert_nonnull (strstr (refuser == a ? at_a.reason : at_b.reason, "pinned"));

  /* nothing synced, and the pinned certificates stayed */
  text = note_text (b, pair.note_id);
  g_assert_cmpstr (text, ==, "nor this: Hello from A");
  a_after = snapshot (a);
  b_after = snapshot (b);
  g_assert_cmpstr (a_after, ==, a_before);
  g_assert_cmpstr (b_after, ==, b_before);
  assert_member (a, pair.notebook_id, b);
  assert_member (b, pair.notebook_id, a);
}

/* ---- hostile frames ---------------------------------------------------- */

typedef enum
{
  STAGE_FRESH,   /* we said nothing yet */
  STAGE_HELLO,   /* we said hello, proved nothing */
  STAGE_OPEN,    /* we proved the notebook key: a member */
} Stage;

typedef struct
{
  const char *name;
  Stage stage;
  const char *frame;    /* with {PLACEHOLDERS}; NULL: a frame too big */
  gsize len;            /* 0: a string; else raw bytes, not expanded */
  guint repeat;         /* send it this many times (0: once) */
  const char *reason;   /* what the error's reason must say (expanded) */
} HostileCase;

#define RAW_PEER "0f0f0f0f0f0f0f0f"
#define RAW_FP   "7272727272727272727272727272727272727272727272727272727272727272"
#define BYTES(s) s, sizeof (s) - 1

#define HELLO(proto, peer, nonce) \
  "{\"type\":\"hello\",\"proto\":" proto ",\"peer\":\"" peer "\",\"name\":\"Mallory\"," \
  "\"colour\":\"#ff0000\",\"nonce\":\"" nonce "\"}"
#define RUN(p, s, ps, k, at, n, t) \
  "{\"p\":\"" p "\",\"s\":" s ",\"ps\":" ps ",\"k\":\"" k "\",\"at\":" at ",\"n\":" n t "}"
#define EVENTS(nb, note, runs) \
  "{\"type\":\"events\",\"notebook\":\"" nb "\",\"note\":\"" note "\",\"runs\":[" runs "]}"
#define OK_RUN RUN ("{R}", "0", "{PS}", "ins", "0", "1", ",\"t\":\"m\"")

static const HostileCase hostile_cases[] = {
  /* not a message at all */
  { "fresh/not-json", STAGE_FRESH, "this is not JSON", 0, 0, "JSON" },
  { "fresh/truncated-json", STAGE_FRESH, "{\"type\":\"hello\",\"proto\":1,", 0, 0, "JSON" },
  { "fresh/json-array", STAGE_FRESH, "[1,2,3]", 0, 0, "object" },
  { "fresh/json-string", STAGE_FRESH, "\"hello\"", 0, 0, "object" },
  { "fresh/empty-frame", STAGE_FRESH, "", 0, 0, "JSON" },
  { "fresh/invalid-utf8", STAGE_FRESH, BYTES ("{\"type\":\"ping\",\"x\":\"\xff\xfe\"}"), 0, "UTF-8" },
  { "fresh/nul-byte", STAGE_FRESH, BYTES ("{\"type\":\"ping\"}\0"), 0, "NUL" },
  { "fresh/too-big", STAGE_FRESH, NULL, 0, 0, "at most" },
  /* no usable type */
  { "fresh/no-type", STAGE_FRESH, "{}", 0, 0, "type" },
  { "fresh/type-number", STAGE_FRESH, "{\"type\":5}", 0, 0, "type" },
  { "fresh/type-null", STAGE_FRESH, "{\"type\":null}", 0, 0, "type" },
  { "fresh/type-object", STAGE_FRESH, "{\"type\":{}}", 0, 0, "type" },
  { "fresh/type-array", STAGE_FRESH, "{\"type\":[\"hello\"]}", 0, 0, "type" },
  { "fresh/unknown-type", STAGE_FRESH, "{\"type\":\"frobnicate\"}", 0, 0, "frobnicate" },
  /* out of order */
  { "fresh/have-before-hello", STAGE_FRESH,
    "{\"type\":\"have\",\"notebook\":\"{NB}\",\"notes\":{}}", 0, 0, "before hello" },
  { "fresh/events-before-hello", STAGE_FRESH, EVENTS ("{NB}", "{NOTE}", OK_RUN), 0, 0, "before hello" },
  { "fresh/auth-before-hello", STAGE_FRESH,
    "{\"type\":\"auth\",\"tag\":\"{TAG}\",\"proof\":\"{Z64}\"}", 0, 0, "before hello" },
  { "fresh/notebook-before-hello", STAGE_FRESH,
    "{\"type\":\"notebook\",\"notebook\":\"{NB}\",\"name\":\"x\",\"members\":[]}", 0, 0, "before hello" },
  /* a bad hello */
  { "fresh/hello-wrong-version", STAGE_FRESH, HELLO ("2", "{R}", "{NONCE}"), 0, 0, "version" },
  { "fresh/hello-version-zero", STAGE_FRESH, HELLO ("0", "{R}", "{NONCE}"), 0, 0, "version" },
  { "fresh/hello-version-string", STAGE_FRESH, HELLO ("\"1\"", "{R}", "{NONCE}"), 0, 0, "proto" },
  { "fresh/hello-version-negative", STAGE_FRESH, HELLO ("-1", "{R}", "{NONCE}"), 0, 0, "proto" },
  { "fresh/hello-version-float", STAGE_FRESH, HELLO ("1.5", "{R}", "{NONCE}"), 0, 0, "proto" },
  { "fresh/hello-bad-peer-id", STAGE_FRESH, HELLO ("1", "xyz", "{NONCE}"), 0, 0, "peer" },
  { "fresh/hello-uppercase-peer-id", STAGE_FRESH, HELLO ("1", "0F0F0F0F0F0F0F0F", "{NONCE}"), 0, 0, "peer" },
  { "fresh/hello-short-nonce", STAGE_FRESH, HELLO ("1", "{R}", "abc"), 0, 0, "nonce" },
  { "fresh/hello-own-id", STAGE_FRESH, HELLO ("1", "{ME}", "{NONCE}"), 0, 0, "itself" },
  { "fresh/hello-long-name", STAGE_FRESH,
    "{\"type\":\"hello\",\"proto\":1,\"peer\":\"{R}\",\"name\":\"{LONG}\",\"colour\":\"#fff\","
    "\"nonce\":\"{NONCE}\"}", 0, 0, "name" },
  { "fresh/hello-missing-nonce", STAGE_FRESH,
    "{\"type\":\"hello\",\"proto\":1,\"peer\":\"{R}\",\"name\":\"M\",\"colour\":\"#fff\"}", 0, 0, "nonce" },
  /* said hello, proved nothing */
  { "hello/hello-twice", STAGE_HELLO, HELLO ("1", "{R}", "{NONCE}"), 0, 0, "twice" },
  { "hello/have-not-open", STAGE_HELLO,
    "{\"type\":\"have\",\"notebook\":\"{NB}\",\"notes\":{\"{NOTE}\":{}}}", 0, 0, "{NB}" },
  { "hello/events-not-open", STAGE_HELLO, EVENTS ("{NB}", "{NOTE}", OK_RUN), 0, 0, "{NB}" },
  { "hello/want-not-open", STAGE_HELLO,
    "{\"type\":\"want\",\"notebook\":\"{NB}\",\"note\":\"{NOTE}\",\"version\":{}}", 0, 0, "{NB}" },
  { "hello/auth-bad-proof", STAGE_HELLO,
    "{\"type\":\"auth\",\"tag\":\"{TAG}\",\"proof\":\"{Z64}\"}", 0, 0, "proof" },
  { "hello/auth-reflected-role", STAGE_HELLO,
    "{\"type\":\"auth\",\"tag\":\"{TAG}\",\"proof\":\"{SERVERPROOF}\"}", 0, 0, "proof" },
  { "hello/auth-bad-tag", STAGE_HELLO,
    "{\"type\":\"auth\",\"tag\":\"XYZ\",\"proof\":\"{Z64}\"}", 0, 0, "tag" },
  { "hello/auth-flood", STAGE_HELLO,
    "{\"type\":\"auth\",\"tag\":\"0123456789abcdef\",\"proof\":\"{Z64}\"}", 0, 65, "too many" },
  { "hello/presence-bad-state", STAGE_HELLO,
    "{\"type\":\"presence\",\"state\":\"dancing\"}", 0, 0, "presence" },
  /* a member sending what must be refused */
  { "open/unknown-type", STAGE_OPEN, "{\"type\":\"frobnicate\",\"notebook\":\"{NB}\"}", 0, 0, "frobnicate" },
  { "open/events-unknown-notebook", STAGE_OPEN, EVENTS ("{NEW}", "{NOTE}", OK_RUN), 0, 0, "{NEW}" },
  { "open/have-unknown-notebook", STAGE_OPEN,
    "{\"type\":\"have\",\"notebook\":\"{NEW}\",\"notes\":{}}", 0, 0, "{NEW}" },
  { "open/events-note-of-another-notebook", STAGE_OPEN, EVENTS ("{NB}", "{PRIV}", OK_RUN), 0, 0, "{PRIV}" },
  { "open/have-note-of-another-notebook", STAGE_OPEN,
    "{\"type\":\"have\",\"notebook\":\"{NB}\",\"notes\":{\"{PRIV}\":{}}}", 0, 0, "{PRIV}" },
  { "open/events-forged-own-id", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{ME}", "{SEQ}", "{PS}", "ins", "0", "1", ",\"t\":\"x\"")), 0, 0, "claims" },
  { "open/events-forged-own-id-far", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{ME}", "1000", "{PS}", "ins", "0", "1", ",\"t\":\"x\"")), 0, 0, "claims" },
  { "open/events-insert-out-of-range", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "{PS}", "ins", "{FAR}", "1", ",\"t\":\"x\"")), 0, 0, "{NOTE}" },
  { "open/events-delete-out-of-range", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "{PS}", "del", "0", "1000", "")), 0, 0, "{NOTE}" },
  { "open/events-backspace-out-of-range", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "{PS}", "bksp", "{FAR}", "2", "")), 0, 0, "{NOTE}" },
  { "open/events-backspace-before-start", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "{PS}", "bksp", "1", "5", "")), 0, 0, "{NOTE}" },
  { "open/events-no-runs", STAGE_OPEN, EVENTS ("{NB}", "{NOTE}", ""), 0, 0, "runs" },
  { "open/events-runs-not-array", STAGE_OPEN,
    "{\"type\":\"events\",\"notebook\":\"{NB}\",\"note\":\"{NOTE}\",\"runs\":\"m\"}", 0, 0, "runs" },
  { "open/events-run-not-object", STAGE_OPEN, EVENTS ("{NB}", "{NOTE}", "42"), 0, 0, "run 0" },
  { "open/events-bad-kind", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "{PS}", "zap", "0", "1", ",\"t\":\"x\"")), 0, 0, "run 0" },
  { "open/events-text-length-mismatch", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "{PS}", "ins", "0", "5", ",\"t\":\"ab\"")), 0, 0, "run 0" },
  { "open/events-negative-seq", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "-1", "{PS}", "ins", "0", "1", ",\"t\":\"x\"")), 0, 0, "run 0" },
  { "open/events-string-position", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "{PS}", "ins", "\"0\"", "1", ",\"t\":\"x\"")), 0, 0, "run 0" },
  { "open/events-bad-parent", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", RUN ("{R}", "0", "[[\"xyz\",0]]", "ins", "0", "1", ",\"t\":\"x\"")), 0, 0, "run 0" },
  { "open/events-field-name-too-long", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", "{\"p\":\"{R}\",\"s\":0,\"ps\":{PS},\"k\":\"field\",\"f\":\"{LONG}\","
            "\"op\":\"set\",\"v\":1,\"l\":1}"), 0, 0, "run 0" },
  { "open/events-field-bad-op", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", "{\"p\":\"{R}\",\"s\":0,\"ps\":{PS},\"k\":\"field\",\"f\":\"x\","
            "\"op\":\"xor\",\"v\":1,\"l\":1}"), 0, 0, "run 0" },
  { "open/events-valid-then-invalid", STAGE_OPEN,
    EVENTS ("{NB}", "{NOTE}", OK_RUN "," RUN ("{R}", "1", "[[\"{R}\",0]]", "ins", "{FAR}", "1", ",\"t\":\"x\"")),
    0, 0, "{NOTE}" },
  { "open/events-new-note-invalid-run", STAGE_OPEN,
    EVENTS ("{NB}", "{NEW}", RUN ("{R}", "0", "[]", "zap", "0", "1", ",\"t\":\"x\"")), 0, 0, "run 0" },
  { "open/have-bad-version", STAGE_OPEN,
    "{\"type\":\"have\",\"notebook\":\"{NB}\",\"notes\":{\"{NOTE}\":\"x\"}}", 0, 0, "version" },
  { "open/have-bad-note-id", STAGE_OPEN,
    "{\"type\":\"have\",\"notebook\":\"{NB}\",\"notes\":{\"XYZ\":{}}}", 0, 0, "note id" },
  { "open/have-notes-array", STAGE_OPEN,
    "{\"type\":\"have\",\"notebook\":\"{NB}\",\"notes\":[]}", 0, 0, "notes" },
  { "open/have-new-note-then-bad", STAGE_OPEN,
    "{\"type\":\"have\",\"notebook\":\"{NB}\",\"notes\":{\"{NEW}\":{},\"{NOTE}\":\"x\"}}", 0, 0, "version" },
  { "open/want-bad-version", STAGE_OPEN,
    "{\"type\":\"want\",\"notebook\":\"{NB}\",\"note\":\"{NOTE}\",\"version\":{\"xyz\":1}}", 0, 0, "want" },
  { "open/check-bad-sum", STAGE_OPEN,
    "{\"type\":\"check\",\"notebook\":\"{NB}\",\"note\":\"{NOTE}\",\"version\":{},\"sum\":\"xyz\"}", 0, 0, "sum" },
  { "open/notebook-member-not-object", STAGE_OPEN,
    "{\"type\":\"notebook\",\"notebook\":\"{NB}\",\"name\":\"x\",\"members\":[1]}", 0, 0, "member" },
  { "open/notebook-member-bad-peer", STAGE_OPEN,
    "{\"type\":\"notebook\",\"notebook\":\"{NB}\",\"name\":\"x\",\"members\":"
    "[{\"peer\":\"xyz\",\"name\":\"n\",\"fingerprint\":\"{Z64}\"}]}", 0, 0, "member" },
  { "open/notebook-member-peer-object", STAGE_OPEN,
    "{\"type\":\"notebook\",\"notebook\":\"{NB}\",\"name\":\"x\",\"members\":"
    "[{\"peer\":{},\"name\":\"n\",\"fingerprint\":\"{Z64}\"}]}", 0, 0, "member" },
  { "open/notebook-member-bad-fingerprint", STAGE_OPEN,
    "{\"type\":\"notebook\",\"notebook\":\"{NB}\",\"name\":\"x\",\"members\":"
    "[{\"peer\":\"0e0e0e0e0e0e0e0e\",\"name\":\"n\",\"fingerprint\":\"nope\"}]}", 0, 0, "member" },
  { "open/notebook-long-name", STAGE_OPEN,
    "{\"type\":\"notebook\",\"notebook\":\"{NB}\",\"name\":\"{LONG}\",\"members\":[]}", 0, 0, "name" },
  { "open/presence-bad-state", STAGE_OPEN,
    "{\"type\":\"presence\",\"state\":\"dancing\",\"notebook\":\"{NB}\",\"note\":\"{NOTE}\"}", 0, 0, "presence" },
  { "open/presence-negative-pos", STAGE_OPEN,
    "{\"type\":\"presence\",\"state\":\"online\",\"notebook\":\"{NB}\",\"note\":\"{NOTE}\",\"pos\":-3}",
    0, 0, "pos" },
  { "open/presence-bad-version", STAGE_OPEN,
    "{\"type\":\"presence\",\"state\":\"online\",\"notebook\":\"{NB}\",\"note\":\"{NOTE}\",\"pos\":1,"
    "\"version\":{\"xyz\":1}}", 0, 0, "version" },
  { "open/rekey-removed-not-peer", STAGE_OPEN,
    "{\"type\":\"rekey\",\"notebook\":\"{NB}\",\"key\":\"{Z64}\",\"removed\":[\"xyz\"]}", 0, 0, "removed" },
  { "open/rekey-removed-object", STAGE_OPEN,
    "{\"type\":\"rekey\",\"notebook\":\"{NB}\",\"key\":\"{Z64}\",\"removed\":[{}]}", 0, 0, "removed" },
  { "open/rekey-bad-key", STAGE_OPEN,
    "{\"type\":\"rekey\",\"notebook\":\"{NB}\",\"key\":\"xyz\",\"removed\":[]}", 0, 0, "key" },
};

/* The hand-driven end of a pair whose other end runs a peer's session. */
typedef struct
{
  TandemTransport *end;
  TandemTransport *server;
  char *nonce;
  char *their_nonce;
  GPtrArray *types;             /* of the messages that came */
  char *error_reason;
  gboolean error_before_close;
  gboolean closed;
  gboolean opened;              /* a full "have" came: we are a member */
} Raw;

static void
raw_received (TandemTransport *transport,
              const char      *text,
              guint64          len,
              Raw             *raw)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *msg;
  const char *type;

  /* the peer only ever sends well-formed messages */
  g_assert_true (json_parser_load_from_data (parser, text, (gssize) len, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  msg = json_node_get_object (json_parser_get_root (parser));
  type = json_object_get_string_member (msg, "type");
  g_assert_nonnull (type);
  g_ptr_array_add (raw->types, g_strdup (type));
  if (g_str_equal (type, "hello"))
    raw->their_nonce = g_strdup (json_object_get_string_member (msg, "nonce"));
  else if (g_str_equal (type, "error"))
    {
      g_assert_null (raw->error_reason);
      raw->error_reason = g_strdup (json_object_get_string_member (msg, "reason"));
    }
  else if (g_str_equal (type, "have") && json_object_get_boolean_member_with_default (msg, "full", FALSE))
    raw->opened = TRUE;
}

static void
raw_closed (TandemTransport *transport,
            const char      *reason,
            Raw             *raw)
{
  raw->closed = TRUE;
  raw->error_before_close = raw->error_reason != NULL;
}

static void
raw_init (Raw      *raw,
          TestPeer *p)
{
  raw->types = g_ptr_array_new_with_free_func (g_free);
  raw->nonce = tandem_membership_new_nonce ();
  tandem_memory_transport_new_pair (RAW_FP, fp (p), &raw->end, &raw->server);
  g_signal_connect (raw->end, "received", G_CALLBACK (raw_received), raw);
  g_signal_connect (raw->end, "closed", G_CALLBACK (raw_closed), raw);
  tandem_peer_add_transport (p->peer, raw->server);
}

static void
raw_clear (Raw *raw)
{
  if (raw->end != NULL)
    g_signal_handlers_disconnect_by_data (raw->end, raw);
  g_clear_object (&raw->end);
  g_clear_object (&raw->server);
  g_clear_pointer (&raw->types, g_ptr_array_unref);
  g_clear_pointer (&raw->nonce, g_free);
  g_clear_pointer (&raw->their_nonce, g_free);
  g_clear_pointer (&raw->error_reason, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Raw, raw_clear)

static void
raw_send (Raw        *raw,
          const char *text)
{
  tandem_transport_send (raw->end, text, strlen (text));
}

static gboolean
raw_has_hello (gpointer data)
{
  return ((Raw *) data)->their_nonce != NULL;
}

static gboolean
raw_is_open (gpointer data)
{
  return ((Raw *) data)->opened;
}

static gboolean
raw_is_closed (gpointer data)
{
  return ((Raw *) data)->closed;
}

/* What the placeholders of a hostile frame stand for. */
typedef struct
{
  const char *keys[32];
  char *values[32];
  guint n;
} Vars;

static void
vars_set (Vars       *vars,
          const char *key,
          char       *value)
{
  g_assert_cmpuint (vars->n, <, G_N_ELEMENTS (vars->keys));
  vars->keys[vars->n] = key;
  vars->values[vars->n++] = value;
}

static void
vars_clear (Vars *vars)
{
  for (guint i = 0; i < vars->n; i++)
    g_free (vars->values[i]);
  vars->n = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Vars, vars_clear)

static char *
expand (const Vars *vars,
        const char *template)
{
  GString *out = g_string_new (template);

  for (guint i = 0; i < vars->n; i++)
    g_string_replace (out, vars->keys[i], vars->values[i], 0);
  /* every placeholder was known */
  for (const char *c = out->str; (c = strchr (c, '{')) != NULL; c++)
    g_assert_false (g_ascii_isupper (c[1]));
  return g_string_free (out, FALSE);
}

static char *
frontier_json (TandemNote *note)
{
  g_autoptr(GPtrArray) frontier = tandem_note_dup_frontier (note);
  GString *out = g_string_new ("[");

  for (guint i = 0; i < frontier->len; i++)
    {
      TandemEventId *id = g_ptr_array_index (frontier, i);

      g_string_append_printf (out, "%s[\"%016" G_GINT64_MODIFIER "x\",%" G_GUINT64_FORMAT "]",
                              i ? "," : "", id->peer, id->seq);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

static char *
random_id (void)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < 4; i++)
    g_string_append_printf (out, "%08x", g_random_int ());
  return g_string_free (out, FALSE);
}

static void
hostile_child (const HostileCase *c)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(GError) error = NULL;
  g_autofree char *notebook_id = create_notebook (a, "Plans");
  g_autofree char *note_id = create_note (a, notebook_id, "Hello, world");
  g_autofree char *private_id = create_note (a, tandem_store_get_private_notebook_id (a->store), "private");
  g_autoptr(TandemStoreNotebook) nb = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *frame = NULL;
  g_autofree char *reason = NULL;
  g_auto(Raw) raw = { NULL, };
  g_auto(Vars) vars = { { NULL, }, };
  TandemNote *note;
  gsize len;

  g_assert_cmpuint (tandem_peer_get_id (a->peer), !=, 0x0f0f0f0f0f0f0f0f);
  edit_field (a, note_id, "priority", g_variant_new_int64 (2));
  note = tandem_saved_note_get_note (get_note (a, note_id));
  nb = tandem_store_dup_notebook (a->store, notebook_id, &error);
  g_assert_no_error (error);

  raw_init (&raw, a);
  g_assert_true (wait_for (raw_has_hello, &raw, QUICK_MS));
  if (c->stage >= STAGE_HELLO)
    {
      g_autofree char *hello = g_strdup_printf (HELLO ("%d", RAW_PEER, "%s"), TANDEM_PROTOCOL_VERSION,
                                                raw.nonce);

      raw_send (&raw, hello);
    }
  if (c->stage >= STAGE_OPEN)
    {
      g_autofree char *tag = tandem_membership_tag (nb->secret_key, raw.their_nonce);
      g_autofree char *proof = tandem_membership_proof (nb->secret_key, TANDEM_ROLE_CLIENT, raw.nonce,
                                                        raw.their_nonce, RAW_FP, fp (a));
      g_autofree char *auth = g_strdup_printf ("{\"type\":\"auth\",\"tag\":\"%s\",\"proof\":\"%s\"}",
                                               tag, proof);

      raw_send (&raw, auth);
      g_assert_true (wait_for (raw_is_open, &raw, QUICK_MS));
      g_assert_nonnull (session_over (a, raw.server));
      g_assert_true (tandem_sync_session_is_open (session_over (a, raw.server)));
    }
  else
    spin (50);
  g_assert_false (raw.closed);
  g_assert_null (raw.error_reason);

  vars_set (&vars, "{NB}", g_strdup (notebook_id));
  vars_set (&vars, "{NOTE}", g_strdup (note_id));
  vars_set (&vars, "{PRIV}", g_strdup (private_id));
  vars_set (&vars, "{NEW}", random_id ());
  vars_set (&vars, "{ME}", peer_hex (a));
  vars_set (&vars, "{R}", g_strdup (RAW_PEER));
  vars_set (&vars, "{SEQ}", g_strdup_printf ("%" G_GUINT64_FORMAT,
                                             tandem_version_vector_get (tandem_note_get_version (note),
                                                                        tandem_peer_get_id (a->peer))));
  vars_set (&vars, "{PS}", frontier_json (note));
  vars_set (&vars, "{FAR}", g_strdup_printf ("%u", tandem_note_get_length (note) + 5));
  vars_set (&vars, "{TAG}", tandem_membership_tag (nb->secret_key, raw.their_nonce));
  vars_set (&vars, "{SERVERPROOF}", tandem_membership_proof (nb->secret_key, TANDEM_ROLE_SERVER, raw.nonce,
                                                             raw.their_nonce, RAW_FP, fp (a)));
  vars_set (&vars, "{Z64}", g_strnfill (64, '0'));
  vars_set (&vars, "{LONG}", g_strnfill (TANDEM_WIRE_MAX_NAME + 1, 'n'));
  vars_set (&vars, "{NONCE}", g_strdup (raw.nonce));

  if (c->frame == NULL)
    {
      len = TANDEM_TRANSPORT_MAX_FRAME + 1;
      frame = g_malloc (len + 1);
      memset (frame, ' ', len);
      frame[len] = '\0';
    }
  else if (c->len > 0)
    {
      len = c->len;
      frame = g_memdup2 (c->frame, len);
    }
  else
    {
      frame = expand (&vars, c->frame);
      len = strlen (frame);
    }
  reason = expand (&vars, c->reason);

  before = snapshot (a);
  for (guint i = 0; i < MAX (c->repeat, 1); i++)
    tandem_transport_send (raw.end, frame, len);
  if (!wait_for (raw_is_closed, &raw, CLOSE_MS))
    g_error ("still open %u ms after the frame; the peer sent %u messages, the last \"%s\"", CLOSE_MS,
             raw.types->len,
             raw.types->len > 0 ? (char *) g_ptr_array_index (raw.types, raw.types->len - 1) : "none");
  g_assert_cmpuint (raw.types->len, >, 0);

  /* an error with the reason came, then the link closed */
  say ("refused: %s", raw.error_reason);
  g_assert_nonnull (raw.error_reason);
  g_assert_true (raw.error_before_close);
  g_assert_cmpstr (g_ptr_array_index (raw.types, raw.types->len - 1), ==, "error");
  if (strstr (raw.error_reason, reason) == NULL)
    g_error ("the reason \"%s\" does not say \"%s\"", raw.error_reason, reason);
  g_assert_null (session_over (a, raw.server));
  g_assert_false (tandem_transport_is_open (raw.server));

  /* and nothing changed */
  after = snapshot (a);
  g_assert_cmpstr (after, ==, before);
}

static void
test_hostile (gconstpointer data)
{
  const HostileCase *c = data;

  if (g_test_subprocess ())
    {
      hostile_child (c);
      return;
    }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* ---- a duplicate connection -------------------------------------------- */

/* Two peers are connected, then the one that did not dial dials too. The
 * link the lower peer id dialled must stay, and the member must not seem
 * to go and come back. Peer ids are random, so which of the two made the
 * notebook and which dialled first are chosen by id, to make each order
 * happen every run. */
#define DUP_FIRST_BY_LOWER  1
#define DUP_CREATOR_LOWER   2

static void
test_duplicate (gconstpointer data)
{
  guint flags = GPOINTER_TO_UINT (data);
  gboolean first_by_lower = (flags & DUP_FIRST_BY_LOWER) != 0;
  g_autoptr(TestPeer) p1 = test_peer_new ("Alice");
  g_autoptr(TestPeer) p2 = test_peer_new ("Bob");
  TestPeer *lo = tandem_peer_get_id (p1->peer) < tandem_peer_get_id (p2->peer) ? p1 : p2;
  TestPeer *hi = lo == p1 ? p2 : p1;
  TestPeer *a = (flags & DUP_CREATOR_LOWER) ? lo : hi;
  TestPeer *b = a == lo ? hi : lo;
  g_autofree char *notebook_id = create_notebook (a, "Plans");
  g_autofree char *note_id = create_note (a, notebook_id, "once");
  g_autofree char *invite = dup_invite (a, notebook_id);
  g_autofree char *joined G_GNUC_UNUSED = join (b, invite);
  g_autofree char *text = NULL;
  g_auto(Link) first = { NULL, };
  g_auto(Link) second = { NULL, };
  Group g = { { a, b }, 2 };
  Link *kept, *dropped;
  TandemSyncSession *s_lo, *s_hi;

  link_peers (first_by_lower ? lo : hi, first_by_lower ? hi : lo, &first);
  assert_converged (&g, note_id);
  link_peers (first_by_lower ? hi : lo, first_by_lower ? lo : hi, &second);
  kept = first_by_lower ? &first : &second;
  dropped = first_by_lower ? &second : &first;

  /* the dropped link closes on both sides; the kept one stays open */
  g_assert_true (wait_for (link_closed, dropped, CLOSE_MS));
  spin (200);
  g_assert_true (tandem_transport_is_open (kept->client));
  g_assert_true (tandem_transport_is_open (kept->server));
  g_assert_cmpuint (n_open_sessions (a), ==, 1);
  g_assert_cmpuint (n_open_sessions (b), ==, 1);
  s_lo = session_over (lo, kept->client);
  s_hi = session_over (hi, kept->server);
  g_assert_nonnull (s_lo);
  g_assert_nonnull (s_hi);
  g_assert_true (tandem_sync_session_is_open (s_lo));
  g_assert_true (tandem_sync_session_is_open (s_hi));
  g_assert_null (session_over (lo, dropped->server));
  g_assert_null (session_over (hi, dropped->client));
  /* the member never seemed to go */
  g_assert_cmpuint (a->n_connected, ==, 1);
  g_assert_cmpuint (b->n_connected, ==, 1);
  g_assert_cmpuint (a->n_disconnected, ==, 0);
  g_assert_cmpuint (b->n_disconnected, ==, 0);

  /* and sync goes on */
  edit_insert (a, note_id, 4, " more");
  edit_insert (b, note_id, 0, "B: ");
  assert_converged (&g, note_id);
  text = note_text (a, note_id);
  g_assert_cmpstr (text, ==, "B: once more");
}

/* Both dial at the same moment: one link stays, the same on both sides. */
static void
test_duplicate_simultaneous (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_auto(Pair) pair = { a, b, };
  g_auto(Link) ab = { NULL, };
  g_auto(Link) ba = { NULL, };
  g_autofree char *text = NULL;
  Group g = { { a, b }, 2 };
  gboolean a_lower = tandem_peer_get_id (a->peer) < tandem_peer_get_id (b->peer);
  Link *kept, *dropped;

  /* make them members of each other, then part */
  pair_up (&pair);
  tandem_transport_close (pair.link.client, "bye");
  g_assert_true (wait_for (no_open_sessions, &g, CLOSE_MS));
  a->n_connected = b->n_connected = a->n_disconnected = b->n_disconnected = 0;
  edit_insert (a, pair.note_id, 0, "while apart: ");

  link_peers (a, b, &ab);
  link_peers (b, a, &ba);
  kept = a_lower ? &ab : &ba;
  dropped = a_lower ? &ba : &ab;
  assert_converged (&g, pair.note_id);
  g_assert_true (wait_for (link_closed, dropped, CLOSE_MS));
  spin (200);
  g_assert_cmpuint (n_open_sessions (a), ==, 1);
  g_assert_cmpuint (n_open_sessions (b), ==, 1);
  g_assert_nonnull (session_over (a, a_lower ? kept->client : kept->server));
  g_assert_nonnull (session_over (b, a_lower ? kept->server : kept->client));
  say ("A: %u connected, %u disconnected; B: %u connected, %u disconnected",
                  a->n_connected, a->n_disconnected, b->n_connected, b->n_disconnected);
  /* whatever happened on the way, each sees the other connected once */
  g_assert_cmpuint (a->n_connected - a->n_disconnected, ==, 1);
  g_assert_cmpuint (b->n_connected - b->n_disconnected, ==, 1);

  edit_insert (b, pair.note_id, 0, "B: ");
  assert_converged (&g, pair.note_id);
  text = note_text (a, pair.note_id);
  g_assert_cmpstr (text, ==, "B: while apart: Hello from A");
}

/* ---- a dead link ------------------------------------------------------- */

static gboolean
both_closed (gpointer data)
{
  Closed **closed = data;

  return closed[0]->reason != NULL && closed[1]->reason != NULL && closed[2]->reason != NULL;
}

static void
test_dead_link (gconstpointer data)
{
  g_autoptr(TestPeer) a = test_peer_new ("Alice");
  g_autoptr(TestPeer) b = test_peer_new ("Bob");
  g_autoptr(Relay) relay = NULL;
  g_autofree char *notebook_id = create_notebook (a, "Plans");
  g_autofree char *note_id = create_note (a, notebook_id, "Hello");
  g_autofree char *invite = dup_invite (a, notebook_id);
  g_autofree char *joined G_GNUC_UNUSED = join (b, invite);
  g_autofree char *text = NULL;
  g_auto(Link) silent = { NULL, };
  g_auto(Link) again = { NULL, };
  g_auto(Closed) at_a = { NULL, };
  g_auto(Closed) at_b = { NULL, };
  g_auto(Closed) at_silent = { NULL, };
  Closed *all[] = { &at_a, &at_b, &at_silent };
  Group g = { { a, b }, 2 };
  gint64 cut, started;

  /* a link that works, then goes quiet without closing */
  relay = relay_new (b, a, NULL);
  assert_converged (&g, note_id);
  watch_session (a, relay->server_end, &at_a);
  watch_session (b, relay->client_end, &at_b);

  /* and a link where the other side never says a word */
  tandem_memory_transport_new_pair (fp (b), fp (a), &silent.client, &silent.server);
  tandem_peer_add_transport (a->peer, silent.server);
  started = g_get_monotonic_time ();
  watch_session (a, silent.server, &at_silent);

  relay->cut = TRUE;
  cut = g_get_monotonic_time ();
  edit_insert (a, note_id, 5, ", anyone?");
  g_assert_true (wait_for (both_closed, all, TANDEM_SESSION_DEAD_MS + 4000));
  say ("closed after %.1f s (A), %.1f s (B), %.1f s (silent): %s / %s / %s",
                  (at_a.when - cut) / 1e6, (at_b.when - cut) / 1e6, (at_silent.when - started) / 1e6,
                  at_a.reason, at_b.reason, at_silent.reason);
  g_assert_cmpint (at_a.when - cut, >=, (TANDEM_SESSION_DEAD_MS - TANDEM_SESSION_PING_MS - 1000) * 1000);
  g_assert_cmpint (at_b.when - cut, >=, (TANDEM_SESSION_DEAD_MS - TANDEM_SESSION_PING_MS - 1000) * 1000);
  g_assert_cmpint (at_a.when - cut, <=, (TANDEM_SESSION_DEAD_MS + 2000) * 1000);
  g_assert_cmpint (at_b.when - cut, <=, (TANDEM_SESSION_DEAD_MS + 2000) * 1000);
  g_assert_cmpint (at_silent.when - started, >=, TANDEM_SESSION_DEAD_MS * 1000);
  g_assert_cmpint (at_silent.when - started, <=, (TANDEM_SESSION_DEAD_MS + 2000) * 1000);
  g_assert_false (tandem_transport_is_open (silent.server));
  g_assert_cmpuint (n_open_sessions (a), ==, 0);
  g_assert_cmpuint (n_open_sessions (b), ==, 0);
  g_assert_cmpuint (tandem_peer_get_sessions (a->peer)->len, ==, 0);
  g_assert_cmpuint (a->n_disconnected, ==, 1);
  g_assert_cmpuint (b->n_disconnected, ==, 1);
  text = note_text (b, note_id);
  g_assert_cmpstr (text, ==, "Hello");
  g_clear_pointer (&text, g_free);

  /* a new link picks up what was missed */
  link_peers (b, a, &again);
  assert_converged (&g, note_id);
  text = note_text (b, note_id);
  g_assert_cmpstr (text, ==, "Hello, anyone?");
  g_assert_cmpuint (a->n_connected, ==, 2);
  g_assert_cmpuint (b->n_connected, ==, 2);
}

/* Each test runs in a subprocess of its own, so that one that fails (or
 * crashes a peer) does not take the others down with it. */
typedef struct
{
  const char *path;
  GTestDataFunc func;
  gconstpointer data;
} Isolated;

static void
run_isolated (gconstpointer data)
{
  const Isolated *test = data;

  if (g_test_subprocess ())
    {
      test->func (test->data);
      return;
    }
  g_test_trap_subprocess (NULL, 100 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static const Isolated tests[] = {
  { "/peer/sync/invite-join", test_invite_join, NULL },
  { "/peer/sync/synced/one-way", test_synced_one_way, NULL },
  { "/peer/sync/two-notebooks", test_two_notebooks, NULL },
  { "/peer/sync/edits", test_edits, NULL },
  { "/peer/sync/control-characters", test_control_characters, NULL },
  { "/peer/sync/relay-chain", test_relay_chain, NULL },
  { "/peer/sync/stranger", test_stranger, NULL },
  { "/peer/sync/mitm/relay", test_mitm_relay, NULL },
  { "/peer/sync/mitm/pinned-client", test_mitm_pinned, GINT_TO_POINTER (TRUE) },
  { "/peer/sync/mitm/pinned-server", test_mitm_pinned, GINT_TO_POINTER (FALSE) },
  { "/peer/sync/duplicate/new-link-kept/creator-lower", test_duplicate,
    GUINT_TO_POINTER (DUP_CREATOR_LOWER) },
  { "/peer/sync/duplicate/new-link-kept/creator-higher", test_duplicate, GUINT_TO_POINTER (0) },
  { "/peer/sync/duplicate/old-link-kept/creator-lower", test_duplicate,
    GUINT_TO_POINTER (DUP_FIRST_BY_LOWER | DUP_CREATOR_LOWER) },
  { "/peer/sync/duplicate/old-link-kept/creator-higher", test_duplicate,
    GUINT_TO_POINTER (DUP_FIRST_BY_LOWER) },
  { "/peer/sync/duplicate/simultaneous", test_duplicate_simultaneous, NULL },
  { "/peer/sync/dead-link", test_dead_link, NULL },
};

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* a failed child fails its test, and the others still run */
  if (!g_test_subprocess ())
    g_test_set_nonfatal_assertions ();

  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add_data_func (tests[i].path, &tests[i], run_isolated);
  for (guint i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/peer/sync/hostile/%s", hostile_cases[i].name);

      g_test_add_data_func (path, &hostile_cases[i], test_hostile);
    }

  return g_test_run ();
}
