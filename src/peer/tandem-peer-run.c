/* tandem-peer-run.c: `tandem-peer run`, a real headless peer on JSON lines
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same TandemPeer as the app, for an always-on machine and for tests:
 * one JSON command per line on stdin, one JSON reply or event per line on
 * stdout. Every command has "cmd" and may have "id", which its reply
 * echoes; a reply has "ok" (and "error" when false); an event has "event".
 * README.md lists the commands. Edits are committed before their reply.
 */
#include "tandem-peer-run.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tandem-event-codec.h"
#include "tandem-peer.h"
#include "tandem-wire.h"

/* A command line longer than this is refused (and skipped). */
#define MAX_COMMAND_BYTES (16u << 20)

typedef struct
{
  JsonNode *id;
  gint64 deadline;
  guint min_peers;
} Waiter;

typedef struct
{
  TandemPeer *peer;
  GMainLoop *loop;
  GString *input;
  GPtrArray *waiters;
  int status;
} Run;

static void
waiter_free (Waiter *waiter)
{
  g_clear_pointer (&waiter->id, json_node_unref);
  g_free (waiter);
}

static void
emit_line (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = tandem_json_to_string (root, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static JsonBuilder *
begin_reply (JsonNode *id,
             gboolean  ok)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  if (id != NULL)
    {
      json_builder_set_member_name (b, "id");
      json_builder_add_value (b, json_node_copy (id));
    }
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, ok);
  return b;
}

static void
reply_ok (JsonNode *id)
{
  g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

  emit_line (b);
}

static void
reply_error (JsonNode   *id,
             const char *message)
{
  g_autoptr(JsonBuilder) b = begin_reply (id, FALSE);

  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, message);
  emit_line (b);
}

static JsonBuilder *
begin_event (const char *name)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "event");
  json_builder_add_string_value (b, name);
  return b;
}

static void
add_string (JsonBuilder *b,
            const char  *member,
            const char  *value)
{
  json_builder_set_member_name (b, member);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_peer_id (JsonBuilder *b,
             const char  *member,
             guint64      peer)
{
  g_autofree char *hex = tandem_peer_id_to_string (peer);

  add_string (b, member, hex);
}

/* ---- events ---- */

static void
on_peer_connected (TandemPeer        *peer,
                   TandemSyncSession *session,
                   gpointer           user_data)
{
  g_autoptr(JsonBuilder) b = begin_event ("peer-connected");

  add_peer_id (b, "peer", tandem_sync_session_get_remote_peer (session));
  add_string (b, "name", tandem_sync_session_get_remote_name (session));
  emit_line (b);
}

static void
on_peer_disconnected (TandemPeer        *peer,
                      TandemSyncSession *session,
                      const char        *reason,
                      gpointer           user_data)
{
  g_autoptr(JsonBuilder) b = begin_event ("peer-disconnected");

  add_peer_id (b, "peer", tandem_sync_session_get_remote_peer (session));
  add_string (b, "name", tandem_sync_session_get_remote_name (session));
  add_string (b, "reason", reason);
  emit_line (b);
}

static void
on_remote_change (TandemPeer *peer,
                  const char *note_id,
                  guint64     author,
                  gpointer    user_data)
{
  g_autoptr(JsonBuilder) b = begin_event ("remote-change");

  add_string (b, "note", note_id);
  add_peer_id (b, "from", author);
  emit_line (b);
}

static void
add_values (JsonBuilder *b,
            GPtrArray   *values)
{
  json_builder_begin_array (b);
  for (guint i = 0; i < values->len; i++)
    tandem_json_add_field_value (b, g_ptr_array_index (values, i));
  json_builder_end_array (b);
}

static void
on_conflict (TandemPeer *peer,
             const char *note_id,
             const char *field,
             gpointer    user_data)
{
  g_autoptr(JsonBuilder) b = begin_event ("conflict");
  TandemSavedNote *saved = tandem_peer_get_note (peer, note_id, NULL);
  g_autoptr(GPtrArray) values = tandem_note_dup_field_values (tandem_saved_note_get_note (saved), field);

  add_string (b, "note", note_id);
  add_string (b, "field", field);
  json_builder_set_member_name (b, "values");
  add_values (b, values);
  emit_line (b);
}

static void
on_notice (TandemPeer *peer,
           const char *kind,
           const char *message,
           gpointer    user_data)
{
  g_autoptr(JsonBuilder) b = begin_event (kind);

  add_string (b, "message", message);
  emit_line (b);
}

/* ---- wait-synced ---- */

static guint
n_connected (TandemPeer *peer)
{
  GPtrArray *sessions = tandem_peer_get_sessions (peer);
  guint n = 0;

  for (guint i = 0; i < sessions->len; i++)
    n += tandem_sync_session_is_open (g_ptr_array_index (sessions, i));
  return n;
}

static void
check_waiters (Run *run)
{
  const char *reason = NULL;
  gboolean synced;
  guint connected;
  gint64 now;

  /* this runs on every change of the peer and ten times a second: with
   * nobody waiting, walking every note of every session is wasted */
  if (run->waiters->len == 0)
    return;
  synced = tandem_peer_is_synced (run->peer, &reason);
  connected = n_connected (run->peer);
  now = g_get_monotonic_time ();

  for (guint i = run->waiters->len; i-- > 0;)
    {
      Waiter *waiter = g_ptr_array_index (run->waiters, i);

      if (synced && connected >= waiter->min_peers)
        {
          g_autoptr(JsonBuilder) b = begin_reply (waiter->id, TRUE);

          json_builder_set_member_name (b, "peers");
          json_builder_add_int_value (b, connected);
          emit_line (b);
          g_ptr_array_remove_index (run->waiters, i);
        }
      else if (now >= waiter->deadline)
        {
          g_autofree char *message = NULL;

          if (connected < waiter->min_peers)
            message = g_strdup_printf ("not synced in time: %u of %u members connected",
                                       connected, waiter->min_peers);
          else
            message = g_strdup_printf ("not synced in time: %s", reason ? reason : "?");
          reply_error (waiter->id, message);
          g_ptr_array_remove_index (run->waiters, i);
        }
    }
}

static void
on_changed (TandemPeer *peer,
            gpointer    user_data)
{
  check_waiters (user_data);
}

static gboolean
tick_waiters (gpointer data)
{
  check_waiters (data);
  return G_SOURCE_CONTINUE;
}

/* ---- commands ---- */

static const char *
get_string (JsonObject *cmd,
            const char *member)
{
  JsonNode *node = json_object_get_member (cmd, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
get_uint (JsonObject *cmd,
          const char *member,
          gint64     *out)
{
  JsonNode *node = json_object_get_member (cmd, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 0)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static GVariant *
value_to_variant (JsonNode *node,
                  GError  **error)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node))
    switch (json_node_get_value_type (node))
      {
      case G_TYPE_STRING: return g_variant_new_string (json_node_get_string (node));
      case G_TYPE_INT64: return g_variant_new_int64 (json_node_get_int (node));
      case G_TYPE_BOOLEAN: return g_variant_new_boolean (json_node_get_boolean (node));
      default: break;
      }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "a field's value is a string, an integer, a boolean or null");
  return NULL;
}

static void
dump_note (JsonBuilder     *b,
           TandemSavedNote *saved)
{
  TandemNote *note = tandem_saved_note_get_note (saved);
  g_autofree char *text = tandem_note_dup_text (note);
  g_autofree char *fields = tandem_saved_note_dup_fields_json (note);
  g_autoptr(GPtrArray) names = tandem_field_table_dup_names (tandem_note_get_fields (note));

  add_string (b, "note", tandem_saved_note_get_id (saved));
  add_string (b, "text", text);
  json_builder_set_member_name (b, "fields");
  json_builder_add_value (b, json_from_string (fields, NULL));
  json_builder_set_member_name (b, "conflicts");
  json_builder_begin_object (b);
  for (guint i = 0; i < names->len; i++)
    {
      const char *field = g_ptr_array_index (names, i);
      g_autoptr(GPtrArray) values = NULL;

      if (tandem_note_get_field_policy (note, field) != TANDEM_FIELD_POLICY_MANUAL)
        continue;
      values = tandem_note_dup_field_values (note, field);
      if (values->len < 2)
        continue;
      json_builder_set_member_name (b, field);
      add_values (b, values);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_value (b, tandem_version_vector_to_json (tandem_note_get_version (note)));
  json_builder_set_member_name (b, "pending");
  json_builder_add_int_value (b, tandem_note_get_n_pending (note));
}

static void
list_peers (JsonBuilder *b,
            TandemPeer  *peer)
{
  GPtrArray *sessions = tandem_peer_get_sessions (peer);

  json_builder_set_member_name (b, "peers");
  json_builder_begin_array (b);
  for (guint i = 0; i < sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (sessions, i);
      g_autoptr(TandemPresence) presence = tandem_sync_session_dup_presence (session);
      g_autoptr(GPtrArray) notebooks = NULL;

      if (!tandem_sync_session_is_open (session))
        continue;
      notebooks = tandem_sync_session_dup_notebooks (session);
      json_builder_begin_object (b);
      add_peer_id (b, "peer", tandem_sync_session_get_remote_peer (session));
      add_string (b, "name", tandem_sync_session_get_remote_name (session));
      add_string (b, "colour", tandem_sync_session_get_remote_colour (session));
      add_string (b, "address", tandem_transport_get_remote_host (tandem_sync_session_get_transport (session)));
      add_string (b, "state", presence->state ? presence->state : "online");
      add_string (b, "note", presence->note_id);
      json_builder_set_member_name (b, "cursor");
      if (presence->pos >= 0)
        json_builder_add_int_value (b, presence->pos);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "anchor");
      if (presence->anchor >= 0)
        json_builder_add_int_value (b, presence->anchor);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "notebooks");
      json_builder_begin_array (b);
      for (guint k = 0; k < notebooks->len; k++)
        json_builder_add_string_value (b, g_ptr_array_index (notebooks, k));
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
list_notebooks (JsonBuilder *b,
                TandemPeer  *peer,
                GError     **error)
{
  TandemStore *store = tandem_peer_get_store (peer);
  g_autoptr(GPtrArray) notebooks = tandem_store_list_notebooks (store, error);
  const char *private_id = tandem_store_get_private_notebook_id (store);

  json_builder_set_member_name (b, "notebooks");
  json_builder_begin_array (b);
  for (guint i = 0; notebooks && i < notebooks->len; i++)
    {
      TandemStoreNotebook *notebook = g_ptr_array_index (notebooks, i);
      g_autoptr(GPtrArray) members = tandem_store_list_members (store, notebook->id, NULL);

      json_builder_begin_object (b);
      add_string (b, "notebook", notebook->id);
      add_string (b, "name", notebook->name);
      json_builder_set_member_name (b, "shared");
      json_builder_add_boolean_value (b, !g_str_equal (notebook->id, private_id));
      json_builder_set_member_name (b, "members");
      json_builder_begin_array (b);
      for (guint k = 0; members && k < members->len; k++)
        {
          TandemStoreMember *member = g_ptr_array_index (members, k);

          json_builder_begin_object (b);
          add_peer_id (b, "peer", member->peer_id);
          add_string (b, "name", member->name);
          add_string (b, "fingerprint", member->cert_fingerprint);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
list_notes (JsonBuilder *b,
            TandemPeer  *peer,
            const char  *only,
            GError     **error)
{
  TandemStore *store = tandem_peer_get_store (peer);
  g_autoptr(GPtrArray) notebooks = tandem_store_list_notebooks (store, error);

  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (guint i = 0; notebooks && i < notebooks->len; i++)
    {
      TandemStoreNotebook *notebook = g_ptr_array_index (notebooks, i);
      g_autoptr(GPtrArray) notes = NULL;

      if (only != NULL && !g_str_equal (only, notebook->id))
        continue;
      notes = tandem_store_list_notes (store, notebook->id, NULL);
      for (guint k = 0; notes && k < notes->len; k++)
        {
          TandemStoreNoteInfo *info = g_ptr_array_index (notes, k);
          TandemSavedNote *saved = tandem_peer_get_note (peer, info->id, NULL);
          g_autoptr(GVariant) title = saved ? tandem_note_dup_field (tandem_saved_note_get_note (saved), "title")
                                            : NULL;
          g_autoptr(GVariant) trashed = saved ? tandem_note_dup_field (tandem_saved_note_get_note (saved), "trashed")
                                              : NULL;

          json_builder_begin_object (b);
          add_string (b, "note", info->id);
          add_string (b, "notebook", notebook->id);
          add_string (b, "title", title && g_variant_is_of_type (title, G_VARIANT_TYPE_STRING)
                                  ? g_variant_get_string (title, NULL) : NULL);
          json_builder_set_member_name (b, "trashed");
          json_builder_add_boolean_value (b, trashed != NULL);
          json_builder_end_object (b);
        }
    }
  json_builder_end_array (b);
}

/* The note a command names, or an error reply. */
static TandemSavedNote *
note_arg (Run        *run,
          JsonObject *cmd,
          JsonNode   *id)
{
  const char *note_id = get_string (cmd, "note");
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved;

  if (note_id == NULL)
    {
      reply_error (id, "\"note\" (a note id) is needed");
      return NULL;
    }
  saved = tandem_peer_get_note (run->peer, note_id, &error);
  if (saved == NULL)
    reply_error (id, error->message);
  return saved;
}

/* Commits a local edit, announces the cursor, and replies. */
static void
finish_edit (Run             *run,
             JsonNode        *id,
             TandemSavedNote *saved,
             gboolean         made,
             gint64           cursor,
             GError          *edit_error)
{
  g_autoptr(GError) error = NULL;

  if (!made)
    {
      reply_error (id, edit_error ? edit_error->message : "nothing was changed");
      return;
    }
  if (!tandem_peer_commit (run->peer, saved, &error))
    {
      g_autofree char *message = g_strdup_printf ("not saved: %s", error->message);

      reply_error (id, message);
      return;
    }
  if (cursor >= 0)
    tandem_peer_set_presence (run->peer, "online", tandem_saved_note_get_id (saved), cursor, cursor);
  reply_ok (id);
}

static gboolean
handle_command (Run        *run,
                JsonObject *cmd,
                JsonNode   *id)
{
  const char *what = get_string (cmd, "cmd");
  g_autoptr(GError) error = NULL;

  if (what == NULL)
    reply_error (id, "a command needs \"cmd\"");
  else if (g_str_equal (what, "quit"))
    {
      reply_ok (id);
      g_main_loop_quit (run->loop);
      return FALSE;
    }
  else if (g_str_equal (what, "info"))
    {
      g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

      add_peer_id (b, "peer", tandem_peer_get_id (run->peer));
      json_builder_set_member_name (b, "port");
      json_builder_add_int_value (b, tandem_peer_get_port (run->peer));
      add_string (b, "fingerprint", tandem_peer_get_fingerprint (run->peer));
      emit_line (b);
    }
  else if (g_str_equal (what, "create-notebook"))
    {
      const char *name = get_string (cmd, "name");
      g_autofree char *notebook = tandem_peer_create_notebook (run->peer, name ? name : "Shared notes", &error);
      g_autofree char *invite = notebook ? tandem_peer_dup_invite (run->peer, notebook, &error) : NULL;

      if (invite == NULL)
        reply_error (id, error->message);
      else
        {
          g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

          add_string (b, "notebook", notebook);
          add_string (b, "invite", invite);
          emit_line (b);
        }
    }
  else if (g_str_equal (what, "invite"))
    {
      const char *notebook = get_string (cmd, "notebook");
      g_autofree char *invite = notebook ? tandem_peer_dup_invite (run->peer, notebook, &error) : NULL;

      if (invite == NULL)
        reply_error (id, error ? error->message : "\"notebook\" is needed");
      else
        {
          g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

          add_string (b, "invite", invite);
          emit_line (b);
        }
    }
  else if (g_str_equal (what, "join"))
    {
      const char *invite = get_string (cmd, "invite");
      g_autofree char *notebook = invite ? tandem_peer_join (run->peer, invite, &error) : NULL;

      if (notebook == NULL)
        reply_error (id, error ? error->message : "\"invite\" is needed");
      else
        {
          g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

          add_string (b, "notebook", notebook);
          emit_line (b);
        }
    }
  else if (g_str_equal (what, "remove-member"))
    {
      const char *notebook = get_string (cmd, "notebook");
      guint64 peer = 0;

      if (notebook == NULL || !tandem_peer_id_from_string (get_string (cmd, "peer"), &peer))
        reply_error (id, "\"notebook\" and \"peer\" are needed");
      else if (!tandem_peer_remove_member (run->peer, notebook, peer, &error))
        reply_error (id, error->message);
      else
        reply_ok (id);
    }
  else if (g_str_equal (what, "policy"))
    {
      const char *notebook = get_string (cmd, "notebook");
      const char *field = get_string (cmd, "field");
      const char *policy = get_string (cmd, "policy");

      if (notebook == NULL || field == NULL || policy == NULL)
        reply_error (id, "\"notebook\", \"field\" and \"policy\" are needed");
      else if (!tandem_peer_set_field_policy (run->peer, notebook, field, policy, &error))
        reply_error (id, error->message);
      else
        reply_ok (id);
    }
  else if (g_str_equal (what, "notebooks"))
    {
      g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

      list_notebooks (b, run->peer, &error);
      emit_line (b);
    }
  else if (g_str_equal (what, "notes"))
    {
      g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

      list_notes (b, run->peer, get_string (cmd, "notebook"), &error);
      emit_line (b);
    }
  else if (g_str_equal (what, "create-note"))
    {
      const char *notebook = get_string (cmd, "notebook");
      const char *title = get_string (cmd, "title");
      TandemSavedNote *saved;
      g_autoptr(TandemEvent) titled = NULL;

      if (notebook == NULL)
        notebook = tandem_store_get_private_notebook_id (tandem_peer_get_store (run->peer));
      saved = tandem_peer_create_note (run->peer, notebook, &error);
      if (saved != NULL && title != NULL &&
          (titled = tandem_note_set_field (tandem_saved_note_get_note (saved), "title",
                                           g_variant_new_string (title), &error)) == NULL)
        saved = NULL;
      if (saved == NULL || !tandem_peer_commit (run->peer, saved, &error))
        reply_error (id, error->message);
      else
        {
          g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

          add_string (b, "note", tandem_saved_note_get_id (saved));
          emit_line (b);
        }
    }
  else if (g_str_equal (what, "insert") || g_str_equal (what, "delete"))
    {
      TandemSavedNote *saved = note_arg (run, cmd, id);
      gint64 pos = 0, len = 0;
      const char *text = get_string (cmd, "text");
      g_autoptr(TandemEvent) event = NULL;

      if (saved == NULL)
        return TRUE;
      if (!get_uint (cmd, "pos", &pos) || pos > G_MAXUINT32)
        {
          reply_error (id, "\"pos\" (a code point position) is needed");
          return TRUE;
        }
      if (g_str_equal (what, "insert"))
        {
          if (text == NULL)
            {
              reply_error (id, "\"text\" is needed");
              return TRUE;
            }
          event = tandem_note_insert (tandem_saved_note_get_note (saved), (guint) pos, text, &error);
          len = g_utf8_strlen (text, -1);
        }
      else
        {
          if (!get_uint (cmd, "len", &len) || len > G_MAXUINT32)
            {
              reply_error (id, "\"len\" (code points) is needed");
              return TRUE;
            }
          event = tandem_note_delete (tandem_saved_note_get_note (saved), (guint) pos, (guint) len, &error);
          len = 0;
        }
      finish_edit (run, id, saved, event != NULL, pos + len, error);
    }
  else if (g_str_equal (what, "set") || g_str_equal (what, "resolve"))
    {
      TandemSavedNote *saved = note_arg (run, cmd, id);
      const char *field = get_string (cmd, "field");
      JsonNode *value = json_object_get_member (cmd, "value");
      TandemNote *note;
      gboolean made = TRUE;

      if (saved == NULL)
        return TRUE;
      note = tandem_saved_note_get_note (saved);
      if (field == NULL || value == NULL)
        {
          reply_error (id, "\"field\" and \"value\" are needed");
          return TRUE;
        }
      if (tandem_note_get_field_policy (note, field) == TANDEM_FIELD_POLICY_SET)
        {
          /* a set is given whole: add what is new, remove what is gone */
          JsonArray *elems = JSON_NODE_HOLDS_ARRAY (value) ? json_node_get_array (value) : NULL;
          g_autoptr(GPtrArray) current = tandem_note_dup_set (note, field);
          g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);

          if (elems == NULL)
            {
              reply_error (id, "this field is a set: its value is an array of strings");
              return TRUE;
            }
          for (guint i = 0; i < json_array_get_length (elems) && made; i++)
            {
              JsonNode *elem = json_array_get_element (elems, i);

              if (!JSON_NODE_HOLDS_VALUE (elem) || json_node_get_value_type (elem) != G_TYPE_STRING)
                {
                  reply_error (id, "a set holds strings");
                  return TRUE;
                }
              g_hash_table_add (wanted, (gpointer) json_node_get_string (elem));
            }
          tandem_note_begin_user_action (note);
          for (guint i = 0; i < current->len && made; i++)
            if (!g_hash_table_remove (wanted, g_ptr_array_index (current, i)))
              {
                g_autoptr(TandemEvent) e = tandem_note_remove_from_set (note, field, g_ptr_array_index (current, i), &error);
                made = e != NULL;
              }
          {
            GHashTableIter iter;
            const char *elem;

            g_hash_table_iter_init (&iter, wanted);
            while (made && g_hash_table_iter_next (&iter, (gpointer *) &elem, NULL))
              {
                g_autoptr(TandemEvent) e = tandem_note_add_to_set (note, field, elem, &error);
                made = e != NULL;
              }
          }
          tandem_note_end_user_action (note);
        }
      else
        {
          GVariant *v = value_to_variant (value, &error);
          g_autoptr(TandemEvent) e = NULL;

          if (v == NULL && error != NULL)
            made = FALSE;
          else
            made = (e = tandem_note_set_field (note, field, v, &error)) != NULL;
        }
      finish_edit (run, id, saved, made, -1, error);
    }
  else if (g_str_equal (what, "trash") || g_str_equal (what, "restore"))
    {
      TandemSavedNote *saved = note_arg (run, cmd, id);
      g_autoptr(TandemEvent) e = NULL;

      if (saved == NULL)
        return TRUE;
      e = tandem_note_set_field (tandem_saved_note_get_note (saved), "trashed",
                                 g_str_equal (what, "trash") ? g_variant_new_int64 (g_get_real_time () / G_USEC_PER_SEC)
                                                             : NULL, &error);
      finish_edit (run, id, saved, e != NULL, -1, error);
    }
  else if (g_str_equal (what, "undo") || g_str_equal (what, "redo"))
    {
      TandemSavedNote *saved = note_arg (run, cmd, id);
      g_autoptr(GPtrArray) events = NULL;
      TandemNote *note;

      if (saved == NULL)
        return TRUE;
      note = tandem_saved_note_get_note (saved);
      events = g_str_equal (what, "undo") ? tandem_note_undo (note, &error) : tandem_note_redo (note, &error);
      finish_edit (run, id, saved, events != NULL, -1, error);
    }
  else if (g_str_equal (what, "dump"))
    {
      TandemSavedNote *saved = note_arg (run, cmd, id);
      g_autoptr(JsonBuilder) b = NULL;

      if (saved == NULL)
        return TRUE;
      b = begin_reply (id, TRUE);
      dump_note (b, saved);
      emit_line (b);
    }
  else if (g_str_equal (what, "presence"))
    {
      const char *note_id = get_string (cmd, "note");
      const char *state = get_string (cmd, "state");
      gint64 pos = -1, anchor = -1;

      if (state == NULL)
        state = "online";
      if (!g_str_equal (state, "online") && !g_str_equal (state, "idle"))
        {
          reply_error (id, "\"state\" is \"online\" or \"idle\"");
          return TRUE;
        }
      if (note_id != NULL && tandem_peer_get_note (run->peer, note_id, &error) == NULL)
        {
          reply_error (id, error->message);
          return TRUE;
        }
      get_uint (cmd, "pos", &pos);
      if (!get_uint (cmd, "anchor", &anchor))
        anchor = pos;
      tandem_peer_set_presence (run->peer, state, note_id, pos, anchor);
      reply_ok (id);
    }
  else if (g_str_equal (what, "peers"))
    {
      g_autoptr(JsonBuilder) b = begin_reply (id, TRUE);

      list_peers (b, run->peer);
      emit_line (b);
    }
  else if (g_str_equal (what, "connect"))
    {
      const char *host = get_string (cmd, "host");
      gint64 port = 0;

      if (host == NULL || !get_uint (cmd, "port", &port) || port == 0 || port > G_MAXUINT16)
        reply_error (id, "\"host\" and \"port\" are needed");
      else
        {
          tandem_peer_connect_to (run->peer, host, (guint16) port);
          reply_ok (id);
        }
    }
  else if (g_str_equal (what, "wait-synced"))
    {
      Waiter *waiter = g_new0 (Waiter, 1);
      gint64 timeout = 60, peers = 0;

      get_uint (cmd, "timeout", &timeout);
      get_uint (cmd, "peers", &peers);
      waiter->id = id ? json_node_copy (id) : NULL;
      waiter->deadline = g_get_monotonic_time () + MIN (timeout, 3600) * G_USEC_PER_SEC;
      waiter->min_peers = (guint) MIN (peers, 1000);
      g_ptr_array_add (run->waiters, waiter);
      check_waiters (run);
    }
  else
    {
      g_autofree char *message = g_strdup_printf ("unknown command \"%.40s\"; see README.md", what);

      reply_error (id, message);
    }
  return TRUE;
}

static gboolean
handle_line (Run  *run,
             char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root, *id;
  const char *problem;

  g_strstrip (line);
  if (*line == '\0')
    return TRUE;
  if (!g_utf8_validate (line, -1, NULL))
    {
      reply_error (NULL, "a command must be valid UTF-8");
      return TRUE;
    }
  if ((problem = tandem_json_check (line, -1, 32)) != NULL)
    {
      g_autofree char *message = g_strdup_printf ("a command is one JSON object: %s", problem);

      reply_error (NULL, message);
      return TRUE;
    }
  if (!json_parser_load_from_data (parser, line, -1, &error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      reply_error (NULL, error ? error->message : "a command is a JSON object");
      return TRUE;
    }
  root = json_parser_get_root (parser);
  id = json_object_get_member (json_node_get_object (root), "id");
  return handle_command (run, json_node_get_object (root), id);
}

static gboolean
on_stdin (GIOChannel   *channel,
          GIOCondition  condition,
          gpointer      user_data)
{
  Run *run = user_data;
  char buffer[65536];
  gssize n = read (0, buffer, sizeof buffer);
  char *newline;

  if (n <= 0)
    {
      /* end of input: leave like "quit" */
      g_main_loop_quit (run->loop);
      return G_SOURCE_REMOVE;
    }
  g_string_append_len (run->input, buffer, n);
  while ((newline = memchr (run->input->str, '\n', run->input->len)) != NULL)
    {
      gsize len = (gsize) (newline - run->input->str);
      g_autofree char *line = g_strndup (run->input->str, len);

      g_string_erase (run->input, 0, (gssize) len + 1);
      if (strlen (line) != len)
        {
          reply_error (NULL, "a command may not contain a NUL character");
          continue;
        }
      if (!handle_line (run, line))
        return G_SOURCE_REMOVE;
    }
  if (run->input->len > MAX_COMMAND_BYTES)
    {
      reply_error (NULL, "a command line is longer than 16 MB; it was skipped");
      g_string_truncate (run->input, 0);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (((Run *) data)->loop);
  return G_SOURCE_REMOVE;
}

int
tandem_peer_run_main (int    argc,
                      char **argv)
{
  const char *profile = NULL, *name = NULL;
  g_autoptr(GPtrArray) connect = g_ptr_array_new ();
  gboolean discovery = TRUE;
  guint64 port = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemPeer) peer = NULL;
  g_autoptr(GIOChannel) in = NULL;
  Run run = { 0 };
  guint tick_id;

  for (int i = 0; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--profile") && i + 1 < argc)
        profile = argv[++i];
      else if (g_str_equal (argv[i], "--name") && i + 1 < argc)
        name = argv[++i];
      else if (g_str_equal (argv[i], "--port") && i + 1 < argc)
        {
          if (!g_ascii_string_to_unsigned (argv[++i], 10, 0, G_MAXUINT16, &port, NULL))
            {
              g_printerr ("tandem-peer run: --port needs a number from 0 to 65535\n");
              return 2;
            }
        }
      else if (g_str_equal (argv[i], "--connect") && i + 1 < argc)
        g_ptr_array_add (connect, argv[++i]);
      else if (g_str_equal (argv[i], "--no-discovery"))
        discovery = FALSE;
      else
        {
          g_printerr ("tandem-peer run: unexpected argument %s\n"
                      "usage: tandem-peer run [--profile DIR] [--name N] [--port P] "
                      "[--connect HOST:PORT]... [--no-discovery]\n", argv[i]);
          return 2;
        }
    }

  store = tandem_store_open (profile, &error);
  if (store == NULL)
    {
      g_printerr ("tandem-peer run: cannot open the profile: %s\n", error->message);
      return 1;
    }
  if (name != NULL && !tandem_store_set_display_name (store, name, &error))
    {
      g_printerr ("tandem-peer run: cannot set the name: %s\n", error->message);
      return 1;
    }
  peer = tandem_peer_new (store, &error);
  if (peer == NULL)
    {
      g_printerr ("tandem-peer run: %s\n", error->message);
      return 1;
    }
  g_signal_connect (peer, "notice", G_CALLBACK (on_notice), NULL);
  if (!tandem_peer_start (peer, (guint16) port, discovery, &error))
    {
      g_printerr ("tandem-peer run: cannot listen on port %u: %s\n", (guint) port, error->message);
      return 1;
    }
  for (guint i = 0; i < connect->len; i++)
    {
      const char *address = g_ptr_array_index (connect, i);
      g_autofree char *host = NULL;
      guint16 p;

      if (!tandem_peer_parse_address (address, &host, &p))
        {
          g_printerr ("tandem-peer run: --connect needs HOST:PORT, not %s\n", address);
          return 2;
        }
      tandem_peer_connect_to (peer, host, p);
    }

  run.peer = peer;
  run.loop = g_main_loop_new (NULL, FALSE);
  run.input = g_string_new (NULL);
  run.waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
  g_signal_connect (peer, "peer-connected", G_CALLBACK (on_peer_connected), &run);
  g_signal_connect (peer, "peer-disconnected", G_CALLBACK (on_peer_disconnected), &run);
  g_signal_connect (peer, "remote-change", G_CALLBACK (on_remote_change), &run);
  g_signal_connect (peer, "conflict", G_CALLBACK (on_conflict), &run);
  g_signal_connect (peer, "changed", G_CALLBACK (on_changed), &run);

  {
    g_autoptr(JsonBuilder) b = begin_event ("ready");

    add_peer_id (b, "peer", tandem_peer_get_id (peer));
    json_builder_set_member_name (b, "port");
    json_builder_add_int_value (b, tandem_peer_get_port (peer));
    add_string (b, "fingerprint", tandem_peer_get_fingerprint (peer));
    emit_line (b);
  }

  in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &run);
  tick_id = g_timeout_add (100, tick_waiters, &run);
  g_unix_signal_add (SIGTERM, on_signal, &run);
  g_unix_signal_add (SIGINT, on_signal, &run);
  g_main_loop_run (run.loop);

  g_source_remove (tick_id);
  tandem_peer_stop (peer);
  for (guint i = 0; i < run.waiters->len; i++)
    reply_error (((Waiter *) g_ptr_array_index (run.waiters, i))->id, "the peer is quitting");
  g_ptr_array_unref (run.waiters);
  g_string_free (run.input, TRUE);
  g_main_loop_unref (run.loop);
  return run.status;
}
