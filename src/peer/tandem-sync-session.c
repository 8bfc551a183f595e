/* tandem-sync-session.c: the sync protocol over one connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One session per connection, whichever side opened it. The protocol (the
 * messages are listed in src/net/tandem-wire.c):
 *
 * 1. Both send "hello": protocol version, peer id, name, colour, a nonce.
 * 2. Both send one "auth" per shared notebook: a tag that names the
 *    notebook only to holders of its key (bound to the other side's nonce)
 *    and a proof of the key bound to both nonces and to the certificate
 *    fingerprints this side saw. A notebook opens on this session when the
 *    other side's proof checks out and its certificate matches the one
 *    pinned for its peer id. A stranger matches nothing and is closed after
 *    TANDEM_SESSION_HANDSHAKE_MS, having learnt nothing.
 * 3. For an open notebook: "notebook" (name and members), then "have" with
 *    every note's version vector. Whoever has events the other lacks sends
 *    them ("events", runs in causal order, split in batches), and from then
 *    on pushes new ones at once. The receiver answers each batch with a
 *    "have" of that note (an ack; wait-synced rests on it), and with "want"
 *    when runs are missing parents. When both sides are at the same version
 *    of a note, they exchange a "check" of its text and fields.
 * 4. "presence" says which note is open and where the cursor is; "ping"
 *    keeps a quiet link alive; silence for TANDEM_SESSION_DEAD_MS closes it.
 *
 * Anything malformed, out of order or invalid gets an "error" frame with
 * the reason and the connection is closed; no note changes.
 */
#include "tandem-sync-session.h"

#include "tandem-event-codec.h"
#include "tandem-membership.h"
#include "tandem-peer-private.h"
#include "tandem-wire.h"

#include <string.h>

/* "auth" messages naming no notebook of ours that we put up with */
#define MAX_UNKNOWN_AUTHS 64

/* A note is compared with the other side's after this much quiet. */
#define CHECK_DELAY_MS 1000

/* Insert runs longer than this go out in slices, to keep frames small. */
#define MAX_SEND_RUN_LEN 32768

typedef struct
{
  TandemVersionVector *sent;    /* what they have or we sent them */
  TandemVersionVector *known;   /* what they said they have; NULL if unheard */
  char *checked;                /* the version last compared by "check" */
  guint check_id;               /* a check waiting for the note to be quiet */
} NoteState;

typedef struct
{
  gboolean open;
  GHashTable *notes;            /* note id -> NoteState */
  GHashTable *neighbors;        /* guint64 *: whom the other side syncs it with */
} NotebookState;

struct _TandemSyncSession
{
  GObject parent_instance;

  TandemPeer *peer;             /* weak: the peer owns its sessions */
  TandemTransport *transport;
  char *nonce;

  gboolean hello_received;
  guint64 remote_peer;
  char *remote_name;
  char *remote_colour;
  char *remote_nonce;
  guint n_unknown_auths;

  GHashTable *notebooks;        /* notebook id -> NotebookState */
  TandemPresence presence;      /* pos and anchor as the sender placed them */
  TandemVersionVector *presence_version;   /* ... in its text at this version */

  gint64 last_sent;
  gint64 last_received;
  gint64 started;
  guint tick_id;
  gboolean closed;
  char *close_reason;
};

G_DEFINE_FINAL_TYPE (TandemSyncSession, tandem_sync_session, G_TYPE_OBJECT)

enum { CLOSED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
note_state_free (NoteState *state)
{
  g_clear_handle_id (&state->check_id, g_source_remove);
  tandem_version_vector_free (state->sent);
  g_clear_pointer (&state->known, tandem_version_vector_free);
  g_free (state->checked);
  g_free (state);
}

static void
notebook_state_free (NotebookState *state)
{
  g_hash_table_unref (state->notes);
  g_hash_table_unref (state->neighbors);
  g_free (state);
}

static void
tandem_sync_session_dispose (GObject *object)
{
  TandemSyncSession *self = TANDEM_SYNC_SESSION (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->transport != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->transport, self);
      tandem_transport_close (self->transport, "going away");
      g_clear_object (&self->transport);
    }
  G_OBJECT_CLASS (tandem_sync_session_parent_class)->dispose (object);
}

static void
tandem_sync_session_finalize (GObject *object)
{
  TandemSyncSession *self = TANDEM_SYNC_SESSION (object);

  g_free (self->nonce);
  g_free (self->remote_name);
  g_free (self->remote_colour);
  g_free (self->remote_nonce);
  g_free (self->close_reason);
  g_free (self->presence.state);
  g_free (self->presence.note_id);
  g_clear_pointer (&self->presence_version, tandem_version_vector_free);
  g_hash_table_unref (self->notebooks);
  G_OBJECT_CLASS (tandem_sync_session_parent_class)->finalize (object);
}

static void
tandem_sync_session_class_init (TandemSyncSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tandem_sync_session_dispose;
  G_OBJECT_CLASS (klass)->finalize = tandem_sync_session_finalize;

  /**
   * TandemSyncSession::closed:
   * @reason: why
   */
  signals[CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tandem_sync_session_init (TandemSyncSession *self)
{
  self->notebooks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) notebook_state_free);
  self->presence.pos = -1;
  self->presence.anchor = -1;
}

/* ---- sending ---- */

static void
send_message (TandemSyncSession *self,
              JsonBuilder       *builder)
{
  gsize len;
  g_autofree char *text = tandem_wire_end (builder, &len);

  if (self->closed)
    return;
  self->last_sent = g_get_monotonic_time ();
  tandem_transport_send (self->transport, text, len);
}

/**
 * tandem_sync_session_close:
 * @reason: sent to the other side in an "error" frame, and logged
 */
void
tandem_sync_session_close (TandemSyncSession *self,
                           const char        *reason)
{
  g_autoptr(TandemSyncSession) keep = NULL;

  if (self->closed)
    return;
  keep = g_object_ref (self);
  if (reason != NULL && tandem_transport_is_open (self->transport))
    {
      JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_ERROR_MESSAGE);

      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, reason);
      send_message (self, b);
    }
  self->closed = TRUE;
  self->close_reason = g_strdup (reason ? reason : "closed");
  g_clear_handle_id (&self->tick_id, g_source_remove);
  tandem_transport_close (self->transport, reason);
  g_signal_emit (self, signals[CLOSED], 0, self->close_reason);
}

static void
fail (TandemSyncSession *self,
      const char        *format,
      ...) G_GNUC_PRINTF (2, 3);

/* Refuses what the other side sent: error frame, log, close. */
static void
fail (TandemSyncSession *self,
      const char        *format,
      ...)
{
  va_list args;
  g_autofree char *reason = NULL;
  g_autofree char *peer = tandem_peer_id_to_string (self->remote_peer);

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  _tandem_peer_notice (self->peer, "refused a message from %s (%s): %s",
                       self->hello_received ? peer : "an unknown peer",
                       tandem_transport_get_remote_host (self->transport), reason);
  tandem_sync_session_close (self, reason);
}

static void
add_version (JsonBuilder               *b,
             const TandemVersionVector *vv)
{
  json_builder_add_value (b, tandem_version_vector_to_json (vv));
}

/* Proves we hold @key (the notebook's key, or the one before it). */
static void
send_auth_with (TandemSyncSession *self,
                GBytes            *key)
{
  TandemRole role = tandem_transport_get_role (self->transport);
  const char *local = tandem_transport_get_local_fingerprint (self->transport);
  const char *remote = tandem_transport_get_remote_fingerprint (self->transport);
  g_autofree char *tag = tandem_membership_tag (key, self->remote_nonce);
  g_autofree char *proof = tandem_membership_proof (key, role, self->nonce, self->remote_nonce,
                                                    role == TANDEM_ROLE_CLIENT ? local : remote,
                                                    role == TANDEM_ROLE_CLIENT ? remote : local);
  JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_AUTH);

  json_builder_set_member_name (b, "tag");
  json_builder_add_string_value (b, tag);
  json_builder_set_member_name (b, "proof");
  json_builder_add_string_value (b, proof);
  send_message (self, b);
}

static void
send_auth (TandemSyncSession  *self,
           TandemPeerNotebook *notebook)
{
  send_auth_with (self, notebook->key);
}

static NotebookState *
get_notebook_state (TandemSyncSession *self,
                    const char        *notebook_id)
{
  NotebookState *state = g_hash_table_lookup (self->notebooks, notebook_id);

  if (state == NULL)
    {
      state = g_new0 (NotebookState, 1);
      state->notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) note_state_free);
      state->neighbors = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      g_hash_table_insert (self->notebooks, g_strdup (notebook_id), state);
    }
  return state;
}

static NoteState *
get_note_state (NotebookState *notebook,
                const char    *note_id)
{
  NoteState *state = g_hash_table_lookup (notebook->notes, note_id);

  if (state == NULL)
    {
      state = g_new0 (NoteState, 1);
      state->sent = tandem_version_vector_new ();
      g_hash_table_insert (notebook->notes, g_strdup (note_id), state);
    }
  return state;
}

/**
 * tandem_sync_session_send_have:
 *
 * Tells the other side which events of the note this peer has, when the
 * note's notebook is open here.
 */
void
tandem_sync_session_send_have (TandemSyncSession *self,
                               const char        *notebook_id,
                               TandemSavedNote   *saved)
{
  JsonBuilder *b;

  /* the other side refuses, and closes the connection over, a "have" for
   * a notebook it does not share with us or has not proven yet */
  if (!tandem_sync_session_has_notebook (self, notebook_id))
    return;
  b = tandem_wire_begin (TANDEM_WIRE_HAVE);
  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, notebook_id);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, tandem_saved_note_get_id (saved));
  add_version (b, tandem_note_get_version (tandem_saved_note_get_note (saved)));
  json_builder_end_object (b);
  send_message (self, b);
}

/* Sends one batch of runs. */
static void
send_runs (TandemSyncSession *self,
           const char        *notebook_id,
           const char        *note_id,
           GPtrArray         *runs)
{
  JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_EVENTS);

  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, notebook_id);
  json_builder_set_member_name (b, "note");
  json_builder_add_string_value (b, note_id);
  json_builder_set_member_name (b, "runs");
  json_builder_add_value (b, tandem_events_to_json (runs));
  send_message (self, b);
}

/**
 * tandem_sync_session_push_note:
 *
 * Sends the other side whatever of the note it neither has nor was sent,
 * in batches below the frame limit; tells it of the note first if it has
 * not heard of it.
 */
void
tandem_sync_session_push_note (TandemSyncSession *self,
                               const char        *notebook_id,
                               TandemSavedNote   *saved)
{
  NotebookState *notebook = g_hash_table_lookup (self->notebooks, notebook_id);
  TandemNote *note = tandem_saved_note_get_note (saved);
  const TandemVersionVector *version = tandem_note_get_version (note);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) batch = NULL;
  NoteState *state;
  gsize bytes = 0;
  gboolean announced;

  if (self->closed || notebook == NULL || !notebook->open)
    return;
  announced = g_hash_table_contains (notebook->notes, tandem_saved_note_get_id (saved));
  state = get_note_state (notebook, tandem_saved_note_get_id (saved));
  if (!announced)
    tandem_sync_session_send_have (self, notebook_id, saved);
  if (tandem_version_vector_leq (version, state->sent))
    return;

  events = tandem_note_dup_events_since (note, state->sent);
  batch = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  for (guint i = 0; i < events->len; i++)
    {
      TandemEvent *event = g_ptr_array_index (events, i);

      for (guint32 offset = 0; offset < event->len; offset += MAX_SEND_RUN_LEN)
        {
          TandemEvent *piece = event->len <= MAX_SEND_RUN_LEN || event->kind != TANDEM_OP_INSERT
                               ? tandem_event_ref (event)
                               : tandem_event_slice (event, offset, MIN (MAX_SEND_RUN_LEN, event->len - offset));

          /* a rough size: the text plus the ids around it */
          bytes += (piece->text ? strlen (piece->text) : 0) + 64 + 48 * piece->n_parents;
          g_ptr_array_add (batch, piece);
          if (bytes >= TANDEM_WIRE_SEND_BYTES || batch->len >= TANDEM_WIRE_MAX_RUNS)
            {
              send_runs (self, notebook_id, tandem_saved_note_get_id (saved), batch);
              g_ptr_array_set_size (batch, 0);
              bytes = 0;
            }
          if (piece == event || event->kind != TANDEM_OP_INSERT)
            break;
        }
    }
  if (batch->len > 0)
    send_runs (self, notebook_id, tandem_saved_note_get_id (saved), batch);
  tandem_version_vector_merge (state->sent, version);
}

/**
 * tandem_sync_session_send_members:
 *
 * Sends the notebook's name and members, when the notebook is open here.
 */
void
tandem_sync_session_send_members (TandemSyncSession *self,
                                  const char        *notebook_id)
{
  TandemPeerNotebook *notebook = _tandem_peer_find_notebook (self->peer, notebook_id);
  g_autoptr(GPtrArray) members = NULL;
  JsonBuilder *b;

  if (notebook == NULL || !tandem_sync_session_has_notebook (self, notebook_id))
    return;
  members = _tandem_peer_list_members (self->peer, notebook->id);
  b = tandem_wire_begin (TANDEM_WIRE_NOTEBOOK);

  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, notebook->id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, notebook->name);
  json_builder_set_member_name (b, "members");
  json_builder_begin_array (b);
  for (guint i = 0; i < members->len; i++)
    {
      TandemStoreMember *member = g_ptr_array_index (members, i);
      g_autofree char *peer = tandem_peer_id_to_string (member->peer_id);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "peer");
      json_builder_add_string_value (b, peer);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, member->name);
      json_builder_set_member_name (b, "fingerprint");
      json_builder_add_string_value (b, member->cert_fingerprint);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  send_message (self, b);
}

static void
send_notebook (TandemSyncSession  *self,
               TandemPeerNotebook *notebook)
{
  g_autoptr(GPtrArray) note_ids = _tandem_peer_list_note_ids (self->peer, notebook->id);
  JsonBuilder *b;

  tandem_sync_session_send_members (self, notebook->id);

  /* every note and its version; notes with nothing new are not sent */
  b = tandem_wire_begin (TANDEM_WIRE_HAVE);
  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, notebook->id);
  json_builder_set_member_name (b, "full");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_object (b);
  for (guint i = 0; i < note_ids->len; i++)
    {
      g_autoptr(GError) error = NULL;
      TandemSavedNote *saved = _tandem_peer_open_note (self->peer, notebook->id,
                                                       g_ptr_array_index (note_ids, i), FALSE, &error);

      if (saved == NULL)
        {
          _tandem_peer_notice (self->peer, "cannot offer a note: %s", error->message);
          continue;
        }
      json_builder_set_member_name (b, tandem_saved_note_get_id (saved));
      add_version (b, tandem_note_get_version (tandem_saved_note_get_note (saved)));
    }
  json_builder_end_object (b);
  send_message (self, b);
  /* the other side now knows every note it was told of */
  for (guint i = 0; i < note_ids->len; i++)
    get_note_state (get_notebook_state (self, notebook->id), g_ptr_array_index (note_ids, i));
}

/**
 * tandem_sync_session_offer_notebook:
 *
 * Proves membership of a notebook created or joined after the session
 * began.
 */
void
tandem_sync_session_offer_notebook (TandemSyncSession *self,
                                    const char        *notebook_id)
{
  TandemPeerNotebook *notebook = _tandem_peer_find_notebook (self->peer, notebook_id);

  if (self->closed || !self->hello_received || notebook == NULL)
    return;
  send_auth (self, notebook);
}

void
tandem_sync_session_send_rekey (TandemSyncSession *self,
                                const char        *notebook_id,
                                GBytes            *key,
                                GPtrArray         *removed)
{
  JsonBuilder *b;
  g_autofree char *hex = NULL;

  if (!tandem_sync_session_has_notebook (self, notebook_id))
    return;
  hex = tandem_hex_encode (g_bytes_get_data (key, NULL), g_bytes_get_size (key));
  b = tandem_wire_begin (TANDEM_WIRE_REKEY);
  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, notebook_id);
  json_builder_set_member_name (b, "key");
  json_builder_add_string_value (b, hex);
  json_builder_set_member_name (b, "removed");
  json_builder_begin_array (b);
  for (guint i = 0; removed && i < removed->len; i++)
    {
      g_autofree char *peer = tandem_peer_id_to_string (*(guint64 *) g_ptr_array_index (removed, i));

      json_builder_add_string_value (b, peer);
    }
  json_builder_end_array (b);
  /* who is a member now: a member that missed the removal learns it here
   * even when the removal itself is not in this message */
  {
    g_autoptr(GPtrArray) members = _tandem_peer_list_members (self->peer, notebook_id);

    json_builder_set_member_name (b, "members");
    json_builder_begin_array (b);
    for (guint i = 0; i < members->len; i++)
      {
        g_autofree char *peer = tandem_peer_id_to_string (((TandemStoreMember *) g_ptr_array_index (members, i))->peer_id);

        json_builder_add_string_value (b, peer);
      }
    json_builder_end_array (b);
  }
  send_message (self, b);
}

/**
 * tandem_sync_session_send_presence:
 * @notebook_id: (nullable): the notebook of the open note
 * @saved: (nullable): the open note
 * @pos: the cursor, or -1
 * @anchor: the selection's other end, or -1
 *
 * The note and cursor go only to a session where the note's notebook is
 * open; others hear the state alone.
 */
void
tandem_sync_session_send_presence (TandemSyncSession *self,
                                   const char        *state,
                                   const char        *notebook_id,
                                   TandemSavedNote   *saved,
                                   gint64             pos,
                                   gint64             anchor)
{
  JsonBuilder *b;

  if (!tandem_sync_session_is_open (self))
    return;
  b = tandem_wire_begin (TANDEM_WIRE_PRESENCE);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, state);
  if (saved != NULL && notebook_id != NULL && tandem_sync_session_has_notebook (self, notebook_id))
    {
      json_builder_set_member_name (b, "notebook");
      json_builder_add_string_value (b, notebook_id);
      json_builder_set_member_name (b, "note");
      json_builder_add_string_value (b, tandem_saved_note_get_id (saved));
      if (pos >= 0)
        {
          json_builder_set_member_name (b, "pos");
          json_builder_add_int_value (b, pos);
          json_builder_set_member_name (b, "anchor");
          json_builder_add_int_value (b, anchor >= 0 ? anchor : pos);
          json_builder_set_member_name (b, "version");
          add_version (b, tandem_note_get_version (tandem_saved_note_get_note (saved)));
        }
    }
  send_message (self, b);
}

/* ---- receiving ---- */

/* A string member, or NULL when it is missing or not a string. */
static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
handle_hello (TandemSyncSession *self,
              JsonObject        *msg)
{
  gint64 proto = json_object_get_int_member (msg, "proto");
  guint64 peer = 0;
  GPtrArray *notebooks;

  if (self->hello_received)
    return fail (self, "hello was sent twice");
  if (proto != TANDEM_PROTOCOL_VERSION)
    return fail (self, "unsupported protocol version %" G_GINT64_FORMAT " (this peer speaks %d)",
                 proto, TANDEM_PROTOCOL_VERSION);
  tandem_peer_id_from_string (json_object_get_string_member (msg, "peer"), &peer);
  if (peer == tandem_peer_get_id (self->peer))
    {
      /* found our own service, or a loop through an address of ours */
      tandem_sync_session_close (self, "connected to itself");
      return;
    }
  self->hello_received = TRUE;
  self->remote_peer = peer;
  self->remote_name = g_strdup (json_object_get_string_member (msg, "name"));
  self->remote_colour = g_strdup (json_object_get_string_member (msg, "colour"));
  self->remote_nonce = g_strdup (json_object_get_string_member (msg, "nonce"));

  notebooks = _tandem_peer_get_notebooks (self->peer);
  for (guint i = 0; i < notebooks->len; i++)
    send_auth (self, g_ptr_array_index (notebooks, i));
}

/* Which of our notebooks @tag names, and with which of its keys. */
static TandemPeerNotebook *
match_tag (TandemSyncSession  *self,
           const char         *tag,
           GBytes            **key)
{
  GPtrArray *notebooks = _tandem_peer_get_notebooks (self->peer);

  for (guint i = 0; i < notebooks->len; i++)
    {
      TandemPeerNotebook *notebook = g_ptr_array_index (notebooks, i);
      g_autofree char *current = tandem_membership_tag (notebook->key, self->nonce);
      g_autofree char *previous = notebook->previous_key
                                  ? tandem_membership_tag (notebook->previous_key, self->nonce) : NULL;

      if (g_str_equal (current, tag))
        {
          *key = notebook->key;
          return notebook;
        }
      if (previous != NULL && g_str_equal (previous, tag))
        {
          *key = notebook->previous_key;
          return notebook;
        }
    }
  return NULL;
}

static void
handle_auth (TandemSyncSession *self,
             JsonObject        *msg)
{
  TandemRole role = tandem_transport_get_role (self->transport);
  TandemRole their_role = role == TANDEM_ROLE_CLIENT ? TANDEM_ROLE_SERVER : TANDEM_ROLE_CLIENT;
  const char *local = tandem_transport_get_local_fingerprint (self->transport);
  const char *remote = tandem_transport_get_remote_fingerprint (self->transport);
  GBytes *key = NULL;
  TandemPeerNotebook *notebook;
  NotebookState *state;
  g_autoptr(GError) error = NULL;
  gboolean was_open = tandem_sync_session_is_open (self);

  if (!self->hello_received)
    return fail (self, "auth before hello");
  notebook = match_tag (self, json_object_get_string_member (msg, "tag"), &key);
  if (notebook == NULL)
    {
      if (++self->n_unknown_auths > MAX_UNKNOWN_AUTHS)
        fail (self, "too many proofs for notebooks this peer does not have");
      return;
    }
  if (!tandem_membership_check (key, json_object_get_string_member (msg, "proof"), their_role,
                                self->remote_nonce, self->nonce,
                                role == TANDEM_ROLE_CLIENT ? local : remote,
                                role == TANDEM_ROLE_CLIENT ? remote : local))
    return fail (self, "the membership proof does not check out (a wrong key, or a man in the middle)");
  if (key == notebook->previous_key &&
      !_tandem_peer_is_member (self->peer, notebook->id, self->remote_peer, remote))
    return fail (self, "the notebook's key was changed and this peer is no longer a member");

  state = get_notebook_state (self, notebook->id);
  if (state->open)
    return;
  if (!_tandem_peer_admit_member (self->peer, notebook->id, self->remote_peer, self->remote_name,
                                  remote, &error))
    return fail (self, "%s", error->message);
  state->open = TRUE;
  /* our own proof may have come before they had this notebook (they
   * joined it since) and been dropped: send it again; an open side
   * ignores it */
  send_auth_with (self, key);
  if (key == notebook->previous_key)
    {
      /* a member that was offline when the key changed */
      tandem_sync_session_send_rekey (self, notebook->id, notebook->key, NULL);
    }
  send_notebook (self, notebook);
  if (!was_open)
    _tandem_peer_session_opened (self->peer, self);
}

/* The notebook a message is about, if it is open on this session. */
static NotebookState *
open_notebook (TandemSyncSession *self,
               JsonObject        *msg)
{
  const char *id = json_object_get_string_member (msg, "notebook");
  NotebookState *state = g_hash_table_lookup (self->notebooks, id);

  if (state == NULL || !state->open)
    {
      fail (self, "%s about notebook %s, which is not open on this connection",
            json_object_get_string_member (msg, "type"), id);
      return NULL;
    }
  return state;
}

static void
handle_notebook (TandemSyncSession *self,
                 JsonObject        *msg)
{
  const char *notebook_id = json_object_get_string_member (msg, "notebook");
  JsonArray *members = json_object_get_array_member (msg, "members");
  guint n = json_array_get_length (members);

  if (open_notebook (self, msg) == NULL)
    return;
  if (n > TANDEM_WIRE_MAX_MEMBERS)
    return fail (self, "a notebook may have at most %u members", TANDEM_WIRE_MAX_MEMBERS);
  _tandem_peer_rename_notebook (self->peer, notebook_id, json_object_get_string_member (msg, "name"));
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (members, i);
      JsonObject *member;
      const char *peer_hex, *name, *fingerprint;
      guint64 peer = 0;
      g_autoptr(GError) error = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return fail (self, "a member must be an object");
      member = json_node_get_object (node);
      peer_hex = string_member (member, "peer");
      name = string_member (member, "name");
      fingerprint = string_member (member, "fingerprint");
      if (!tandem_peer_id_from_string (peer_hex, &peer) || name == NULL ||
          strlen (name) > TANDEM_WIRE_MAX_NAME || !tandem_wire_is_hex (fingerprint, 64))
        return fail (self, "a member needs a peer id, a name and a certificate fingerprint");
      if (peer == tandem_peer_get_id (self->peer))
        continue;
      /* a member we know keeps its pinned certificate; a conflicting claim
       * is only logged, as the peer that made it may itself be misled */
      if (!_tandem_peer_admit_member (self->peer, notebook_id, peer, name, fingerprint, &error))
        _tandem_peer_notice (self->peer, "member list from %s: %s", self->remote_name, error->message);
    }
}

static gboolean
note_of (TandemSyncSession  *self,
         JsonObject         *msg,
         const char         *note_id,
         gboolean            create,
         TandemSavedNote   **out)
{
  g_autoptr(GError) error = NULL;

  *out = _tandem_peer_open_note (self->peer, json_object_get_string_member (msg, "notebook"),
                                 note_id, create, &error);
  if (*out == NULL && error != NULL)
    {
      fail (self, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

static void
maybe_check_now (TandemSyncSession *self,
                 const char        *notebook_id,
                 TandemSavedNote   *saved,
                 NoteState         *state);

typedef struct
{
  TandemSyncSession *session;   /* weak: the session removes its timers */
  char *notebook_id;
  char *note_id;
} CheckLater;

static gboolean
check_later_cb (gpointer data)
{
  CheckLater *later = data;
  TandemSyncSession *self = later->session;
  NotebookState *notebook = g_hash_table_lookup (self->notebooks, later->notebook_id);
  NoteState *state = notebook ? g_hash_table_lookup (notebook->notes, later->note_id) : NULL;
  TandemSavedNote *saved = _tandem_peer_open_note (self->peer, later->notebook_id, later->note_id, FALSE, NULL);

  if (state != NULL)
    state->check_id = 0;
  if (state != NULL && saved != NULL && !self->closed)
    maybe_check_now (self, later->notebook_id, saved, state);
  return G_SOURCE_REMOVE;
}

static void
check_later_free (gpointer data)
{
  CheckLater *later = data;

  g_free (later->notebook_id);
  g_free (later->note_id);
  g_free (later);
}

/* Compares the note with the other side's once it has been quiet for
 * CHECK_DELAY_MS: while people type, the versions meet all the time and a
 * checksum of the whole note at each would cost more than the typing. */
static void
maybe_check (TandemSyncSession *self,
             const char        *notebook_id,
             TandemSavedNote   *saved,
             NoteState         *state)
{
  CheckLater *later;

  if (state->check_id != 0)
    g_source_remove (state->check_id);
  later = g_new0 (CheckLater, 1);
  later->session = self;
  later->notebook_id = g_strdup (notebook_id);
  later->note_id = g_strdup (tandem_saved_note_get_id (saved));
  state->check_id = g_timeout_add_full (G_PRIORITY_LOW, CHECK_DELAY_MS, check_later_cb, later, check_later_free);
}

static void
maybe_check_now (TandemSyncSession *self,
                 const char        *notebook_id,
                 TandemSavedNote   *saved,
                 NoteState         *state)
{
  TandemNote *note = tandem_saved_note_get_note (saved);
  const TandemVersionVector *version = tandem_note_get_version (note);
  g_autofree char *vv = NULL;
  g_autofree char *sum = NULL;
  JsonBuilder *b;

  if (state->known == NULL || !tandem_version_vector_equal (state->known, version))
    return;
  vv = tandem_version_vector_to_string (version);
  if (g_strcmp0 (vv, state->checked) == 0)
    return;
  g_free (state->checked);
  state->checked = g_steal_pointer (&vv);
  sum = _tandem_peer_note_checksum (note);
  b = tandem_wire_begin (TANDEM_WIRE_CHECK);
  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, notebook_id);
  json_builder_set_member_name (b, "note");
  json_builder_add_string_value (b, tandem_saved_note_get_id (saved));
  json_builder_set_member_name (b, "version");
  add_version (b, version);
  json_builder_set_member_name (b, "sum");
  json_builder_add_string_value (b, sum);
  send_message (self, b);
}

static void
handle_have (TandemSyncSession *self,
             JsonObject        *msg)
{
  const char *notebook_id = json_object_get_string_member (msg, "notebook");
  NotebookState *notebook = open_notebook (self, msg);
  JsonObject *notes;
  g_autoptr(GList) members = NULL;
  g_autoptr(GPtrArray) versions = NULL;

  if (notebook == NULL)
    return;
  notes = json_object_get_object_member (msg, "notes");
  if (json_object_get_size (notes) > TANDEM_WIRE_MAX_NOTES)
    return fail (self, "a have may list at most %u notes", TANDEM_WIRE_MAX_NOTES);

  /* everything is checked before anything is taken */
  members = json_object_get_members (notes);
  versions = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_version_vector_free);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *note_id = l->data;
      const char *owner = tandem_peer_get_note_notebook (self->peer, note_id);
      g_autoptr(GError) error = NULL;
      TandemVersionVector *vv;

      if (!tandem_wire_is_hex (note_id, 32))
        return fail (self, "a note id must be 32 lowercase hex digits");
      if (owner != NULL && !g_str_equal (owner, notebook_id))
        return fail (self, "note %s is not in notebook %s", note_id, notebook_id);
      vv = tandem_version_vector_from_json (json_object_get_member (notes, note_id), &error);
      if (vv == NULL)
        return fail (self, "a bad version vector for note %s: %s", note_id, error->message);
      g_ptr_array_add (versions, vv);
    }

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *note_id = l->data;
      TandemVersionVector *vv = g_ptr_array_index (versions, g_list_position (members, l));
      TandemSavedNote *saved;
      NoteState *state;

      if (!note_of (self, msg, note_id, TRUE, &saved))
        return;
      state = get_note_state (notebook, note_id);
      if (state->known == NULL)
        state->known = tandem_version_vector_copy (vv);
      else
        tandem_version_vector_merge (state->known, vv);
      tandem_version_vector_merge (state->sent, vv);
      tandem_sync_session_push_note (self, notebook_id, saved);
      maybe_check (self, notebook_id, saved, state);
    }

  /* notes we have and they did not list, they lack entirely */
  if (json_object_get_boolean_member_with_default (msg, "full", FALSE))
    {
      g_autoptr(GPtrArray) note_ids = _tandem_peer_list_note_ids (self->peer, notebook_id);

      for (guint i = 0; i < note_ids->len; i++)
        {
          const char *note_id = g_ptr_array_index (note_ids, i);
          TandemSavedNote *saved;

          if (json_object_has_member (notes, note_id))
            continue;
          if (!note_of (self, msg, note_id, FALSE, &saved) || saved == NULL)
            continue;
          if (get_note_state (notebook, note_id)->known == NULL)
            get_note_state (notebook, note_id)->known = tandem_version_vector_new ();
          tandem_sync_session_push_note (self, notebook_id, saved);
        }
    }
  _tandem_peer_session_changed (self->peer, self);
}

static void
handle_events (TandemSyncSession *self,
               JsonObject        *msg)
{
  const char *notebook_id = json_object_get_string_member (msg, "notebook");
  const char *note_id = json_object_get_string_member (msg, "note");
  NotebookState *notebook = open_notebook (self, msg);
  JsonArray *runs;
  guint n;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved;
  TandemNote *note;
  NoteState *state;
  guint64 me = tandem_peer_get_id (self->peer);
  gboolean created;
  gboolean settling = FALSE;

  if (notebook == NULL)
    return;
  runs = json_object_get_array_member (msg, "runs");
  n = json_array_get_length (runs);
  if (n == 0 || n > TANDEM_WIRE_MAX_RUNS)
    return fail (self, "an events message must hold 1 to %u runs", TANDEM_WIRE_MAX_RUNS);
  /* the note is made only for runs that pass these checks */
  if (!note_of (self, msg, note_id, FALSE, &saved))
    return;
  note = saved ? tandem_saved_note_get_note (saved) : NULL;

  events = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  for (guint i = 0; i < n; i++)
    {
      TandemEvent *event = tandem_event_from_json_after (json_array_get_element (runs, i),
                                                         i > 0 ? g_ptr_array_index (events, i - 1) : NULL,
                                                         &error);

      if (event == NULL)
        return fail (self, "run %u of note %s: %s", i, note_id, error->message);
      g_ptr_array_add (events, event);
      /* our own id's events can only come from us: anything we do not
       * have under it is forged, and taking it would make us reuse ids */
      if (event->peer == me &&
          (note == NULL ||
           tandem_version_vector_get (tandem_note_get_version (note), me) < event->seq + event->len))
        return fail (self, "run %u of note %s claims to be this peer's, which never made it",
                     i, note_id);
    }
  created = saved == NULL;
  if (created)
    {
      if (!note_of (self, msg, note_id, TRUE, &saved))
        return;
      note = tandem_saved_note_get_note (saved);
    }
  if (tandem_note_get_n_pending (note) + n > TANDEM_SESSION_MAX_PENDING)
    return fail (self, "too many runs of note %s wait for parents that never came", note_id);

  if (!_tandem_peer_apply_remote (self->peer, self, saved, events, &settling, &error))
    {
      /* a note made for these runs goes with them */
      if (created)
        _tandem_peer_forget_note (self->peer, note_id);
      return fail (self, "note %s: %s", note_id, error->message);
    }

  /* they have what they sent */
  state = get_note_state (notebook, note_id);
  if (state->known == NULL)
    state->known = tandem_version_vector_new ();
  for (guint i = 0; i < events->len; i++)
    {
      TandemEvent *event = g_ptr_array_index (events, i);

      if (tandem_version_vector_get (state->sent, event->peer) < event->seq + event->len)
        tandem_version_vector_set (state->sent, event->peer, event->seq + event->len);
      if (tandem_version_vector_get (state->known, event->peer) < event->seq + event->len)
        tandem_version_vector_set (state->known, event->peer, event->seq + event->len);
    }
  if (tandem_note_get_n_pending (note) > 0)
    {
      JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_WANT);

      json_builder_set_member_name (b, "notebook");
      json_builder_add_string_value (b, notebook_id);
      json_builder_set_member_name (b, "note");
      json_builder_add_string_value (b, note_id);
      json_builder_set_member_name (b, "version");
      add_version (b, tandem_note_get_version (note));
      send_message (self, b);
    }
  /* what it took is acknowledged once saved; a batch with nothing new
   * (a relay we had first-hand) at once */
  if (!settling)
    tandem_sync_session_send_have (self, notebook_id, saved);
}

static void
handle_want (TandemSyncSession *self,
             JsonObject        *msg)
{
  const char *notebook_id = json_object_get_string_member (msg, "notebook");
  NotebookState *notebook = open_notebook (self, msg);
  g_autoptr(TandemVersionVector) vv = NULL;
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved;
  NoteState *state;

  if (notebook == NULL)
    return;
  vv = tandem_version_vector_from_json (json_object_get_member (msg, "version"), &error);
  if (vv == NULL)
    return fail (self, "want: %s", error->message);
  if (!note_of (self, msg, json_object_get_string_member (msg, "note"), FALSE, &saved) || saved == NULL)
    return;
  state = get_note_state (notebook, tandem_saved_note_get_id (saved));
  tandem_version_vector_free (state->sent);
  state->sent = g_steal_pointer (&vv);
  tandem_sync_session_push_note (self, notebook_id, saved);
}

static void
handle_check (TandemSyncSession *self,
              JsonObject        *msg)
{
  NotebookState *notebook = open_notebook (self, msg);
  const char *note_id = json_object_get_string_member (msg, "note");
  g_autoptr(TandemVersionVector) vv = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sum = NULL;
  TandemSavedNote *saved;
  TandemNote *note;

  if (notebook == NULL)
    return;
  vv = tandem_version_vector_from_json (json_object_get_member (msg, "version"), &error);
  if (vv == NULL)
    return fail (self, "check: %s", error->message);
  if (!note_of (self, msg, note_id, FALSE, &saved) || saved == NULL)
    return;
  note = tandem_saved_note_get_note (saved);
  if (!tandem_version_vector_equal (vv, tandem_note_get_version (note)))
    return;   /* moved on since; a later check will compare */
  sum = _tandem_peer_note_checksum (note);
  if (!g_str_equal (sum, json_object_get_string_member (msg, "sum")))
    {
      g_autofree char *version = tandem_version_vector_to_string (vv);
      NoteState *state = get_note_state (notebook, note_id);
      JsonBuilder *b;

      /* both hold the same events and show different notes: that must
       * never go unseen. Say so; rebuild ours from its history; ask for
       * the whole note again; and compare once more. */
      _tandem_peer_notice (self->peer,
                           "note %s diverged from %s's at version %s: our checksum %s, theirs %s; "
                           "resyncing it in full", note_id, self->remote_name, version, sum,
                           json_object_get_string_member (msg, "sum"));
      _tandem_peer_repair_note (self->peer, saved);
      g_clear_pointer (&state->checked, g_free);
      maybe_check (self, json_object_get_string_member (msg, "notebook"), saved, state);
      b = tandem_wire_begin (TANDEM_WIRE_WANT);
      json_builder_set_member_name (b, "notebook");
      json_builder_add_string_value (b, json_object_get_string_member (msg, "notebook"));
      json_builder_set_member_name (b, "note");
      json_builder_add_string_value (b, note_id);
      json_builder_set_member_name (b, "version");
      json_builder_begin_object (b);
      json_builder_end_object (b);
      send_message (self, b);
    }
}

static void
handle_presence (TandemSyncSession *self,
                 JsonObject        *msg)
{
  const char *state = json_object_get_string_member (msg, "state");
  const char *note_id = string_member (msg, "note");
  JsonNode *pos_node = json_object_get_member (msg, "pos");
  JsonNode *anchor_node = json_object_get_member (msg, "anchor");
  /* (the shape check let only non-negative integers or null through) */
  gint64 pos = pos_node && JSON_NODE_HOLDS_VALUE (pos_node) ? json_node_get_int (pos_node) : -1;
  gint64 anchor = anchor_node && JSON_NODE_HOLDS_VALUE (anchor_node) ? json_node_get_int (anchor_node) : pos;

  if (!g_str_equal (state, "online") && !g_str_equal (state, "idle"))
    return fail (self, "presence state must be \"online\" or \"idle\"");
  g_free (self->presence.state);
  self->presence.state = g_strdup (state);
  g_clear_pointer (&self->presence.note_id, g_free);
  g_clear_pointer (&self->presence_version, tandem_version_vector_free);
  self->presence.pos = self->presence.anchor = -1;

  if (note_id != NULL)
    {
      TandemSavedNote *saved;
      JsonNode *version = json_object_get_member (msg, "version");

      if (version != NULL && JSON_NODE_HOLDS_NULL (version))
        version = NULL;
      if (string_member (msg, "notebook") == NULL)
        return fail (self, "presence names a note but not its notebook");

      if (open_notebook (self, msg) == NULL)
        return;
      if (!note_of (self, msg, note_id, FALSE, &saved) || saved == NULL)
        return;
      self->presence.note_id = g_strdup (note_id);
      if (pos >= 0 && version != NULL)
        {
          self->presence_version = tandem_version_vector_from_json (version, NULL);
          if (self->presence_version == NULL)
            return fail (self, "presence: a bad version vector");
          self->presence.pos = pos;
          self->presence.anchor = anchor;
        }
    }
  _tandem_peer_session_changed (self->peer, self);
}

static void
handle_rekey (TandemSyncSession *self,
              JsonObject        *msg)
{
  const char *notebook_id = json_object_get_string_member (msg, "notebook");
  const char *hex = json_object_get_string_member (msg, "key");
  JsonArray *removed_json = json_object_get_array_member (msg, "removed");
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GError) error = NULL;
  guint8 raw[TANDEM_NOTEBOOK_KEY_SIZE];

  if (open_notebook (self, msg) == NULL)
    return;
  if (json_array_get_length (removed_json) > TANDEM_WIRE_MAX_MEMBERS)
    return fail (self, "rekey: too many removed members");
  for (guint i = 0; i < TANDEM_NOTEBOOK_KEY_SIZE; i++)
    raw[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
  key = g_bytes_new (raw, sizeof raw);
  for (guint i = 0; i < json_array_get_length (removed_json); i++)
    {
      JsonNode *node = json_array_get_element (removed_json, i);
      guint64 *peer = g_new0 (guint64, 1);

      g_ptr_array_add (removed, peer);
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
          !tandem_peer_id_from_string (json_node_get_string (node), peer))
        return fail (self, "rekey: a removed member must be a peer id");
    }
  if (json_object_has_member (msg, "members"))
    {
      JsonArray *listed = json_object_get_array_member (msg, "members");
      g_autoptr(GHashTable) current = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) known = NULL;

      if (json_array_get_length (listed) > TANDEM_WIRE_MAX_MEMBERS)
        return fail (self, "rekey: too many members");
      for (guint i = 0; i < json_array_get_length (listed); i++)
        {
          JsonNode *node = json_array_get_element (listed, i);
          guint64 *peer = g_new0 (guint64, 1);

          g_ptr_array_add (ids, peer);
          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
              !tandem_peer_id_from_string (json_node_get_string (node), peer))
            return fail (self, "rekey: a member must be a peer id");
          g_hash_table_add (current, peer);
        }
      /* whom we know as a member and the new key's holder does not */
      known = _tandem_peer_list_members (self->peer, notebook_id);
      for (guint i = 0; i < known->len; i++)
        {
          guint64 peer = ((TandemStoreMember *) g_ptr_array_index (known, i))->peer_id;

          if (peer != tandem_peer_get_id (self->peer) && peer != self->remote_peer &&
              !g_hash_table_contains (current, &peer))
            g_ptr_array_add (removed, g_memdup2 (&peer, sizeof peer));
        }
    }
  if (!_tandem_peer_rekey_notebook (self->peer, self, notebook_id, key, removed, &error))
    _tandem_peer_notice (self->peer, "cannot take the new key of notebook %s: %s", notebook_id,
                         error->message);
}

/* Whom the other side syncs a notebook with directly. A peer that left
 * that set may have taken with it runs we left to it: everything the other
 * side has not acknowledged is sent again. */
static void
handle_neighbors (TandemSyncSession *self,
                  JsonObject        *msg)
{
  NotebookState *notebook = open_notebook (self, msg);
  JsonArray *peers;
  g_autoptr(GHashTable) now = NULL;
  gboolean lost = FALSE;
  GHashTableIter iter;
  guint64 *peer;

  if (notebook == NULL)
    return;
  peers = json_object_get_array_member (msg, "peers");
  if (json_array_get_length (peers) > TANDEM_WIRE_MAX_MEMBERS)
    return fail (self, "neighbors: too many peers");
  now = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < json_array_get_length (peers); i++)
    {
      JsonNode *node = json_array_get_element (peers, i);
      guint64 id;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
          !tandem_peer_id_from_string (json_node_get_string (node), &id))
        return fail (self, "neighbors: a peer must be a peer id");
      g_hash_table_add (now, g_memdup2 (&id, sizeof id));
    }
  g_hash_table_iter_init (&iter, notebook->neighbors);
  while (g_hash_table_iter_next (&iter, (gpointer *) &peer, NULL))
    lost |= !g_hash_table_contains (now, peer);
  g_hash_table_unref (notebook->neighbors);
  notebook->neighbors = g_steal_pointer (&now);
  if (lost)
    {
      const char *notebook_id = json_object_get_string_member (msg, "notebook");
      GHashTableIter notes;
      const char *note_id;
      NoteState *state;

      g_hash_table_iter_init (&notes, notebook->notes);
      while (g_hash_table_iter_next (&notes, (gpointer *) &note_id, (gpointer *) &state))
        {
          TandemSavedNote *saved = _tandem_peer_open_note (self->peer, notebook_id, note_id, FALSE, NULL);

          tandem_version_vector_free (state->sent);
          state->sent = state->known ? tandem_version_vector_copy (state->known) : tandem_version_vector_new ();
          if (saved != NULL)
            tandem_sync_session_push_note (self, notebook_id, saved);
        }
    }
}

/**
 * tandem_sync_session_send_neighbors:
 * @peers: (element-type guint64): whom this peer syncs the notebook with
 */
void
tandem_sync_session_send_neighbors (TandemSyncSession *self,
                                    const char        *notebook_id,
                                    GArray            *peers)
{
  JsonBuilder *b;

  if (!tandem_sync_session_has_notebook (self, notebook_id))
    return;
  b = tandem_wire_begin (TANDEM_WIRE_NEIGHBORS);
  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, notebook_id);
  json_builder_set_member_name (b, "peers");
  json_builder_begin_array (b);
  for (guint i = 0; i < peers->len; i++)
    {
      guint64 peer = g_array_index (peers, guint64, i);
      g_autofree char *hex = NULL;

      if (peer == self->remote_peer)
        continue;
      hex = tandem_peer_id_to_string (peer);
      json_builder_add_string_value (b, hex);
    }
  json_builder_end_array (b);
  send_message (self, b);
}

/**
 * tandem_sync_session_skip_relay:
 * @authors: (element-type guint64): whose runs a note just took
 * @version: the note's version now
 *
 * When the other side syncs the notebook directly with every author of
 * the runs, they reach it from them: relaying them as well would only
 * multiply the traffic of a group where everyone is connected to everyone.
 * They are counted as sent (if a direct link drops, "neighbors" says so and
 * they are sent after all).
 *
 * Returns: whether to leave them out
 */
gboolean
tandem_sync_session_skip_relay (TandemSyncSession         *self,
                                const char                *notebook_id,
                                const char                *note_id,
                                GArray                    *authors,
                                const TandemVersionVector *version)
{
  NotebookState *notebook = g_hash_table_lookup (self->notebooks, notebook_id);
  NoteState *state;

  if (notebook == NULL || !notebook->open || authors->len == 0)
    return FALSE;
  for (guint i = 0; i < authors->len; i++)
    {
      guint64 author = g_array_index (authors, guint64, i);

      if (author == tandem_peer_get_id (self->peer) || !g_hash_table_contains (notebook->neighbors, &author))
        return FALSE;
    }
  state = g_hash_table_lookup (notebook->notes, note_id);
  if (state == NULL)
    return FALSE;
  for (guint i = 0; i < authors->len; i++)
    {
      guint64 author = g_array_index (authors, guint64, i);

      tandem_version_vector_set (state->sent, author,
                                 MAX (tandem_version_vector_get (state->sent, author),
                                      tandem_version_vector_get (version, author)));
    }
  return TRUE;
}

static void
on_received (TandemTransport *transport,
             const char      *text,
             guint64          len,
             gpointer         user_data)
{
  TandemSyncSession *self = user_data;
  g_autoptr(TandemSyncSession) keep G_GNUC_UNUSED = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) msg = NULL;
  TandemWireType type;

  if (self->closed)
    return;
  self->last_received = g_get_monotonic_time ();
  if (text == NULL)
    return fail (self, "binary frames are not part of the protocol");
  if (len > TANDEM_TRANSPORT_MAX_FRAME)
    return fail (self, "a message may be at most %u bytes", TANDEM_TRANSPORT_MAX_FRAME);
  msg = tandem_wire_parse (text, len, &type, &error);
  if (msg == NULL)
    return fail (self, "%s", error->message);
  if (type != TANDEM_WIRE_HELLO && type != TANDEM_WIRE_ERROR_MESSAGE && type != TANDEM_WIRE_PING &&
      !self->hello_received)
    return fail (self, "%s before hello", tandem_wire_type_name (type));

  switch (type)
    {
    case TANDEM_WIRE_HELLO: handle_hello (self, msg); break;
    case TANDEM_WIRE_AUTH: handle_auth (self, msg); break;
    case TANDEM_WIRE_NOTEBOOK: handle_notebook (self, msg); break;
    case TANDEM_WIRE_HAVE: handle_have (self, msg); break;
    case TANDEM_WIRE_EVENTS: handle_events (self, msg); break;
    case TANDEM_WIRE_WANT: handle_want (self, msg); break;
    case TANDEM_WIRE_CHECK: handle_check (self, msg); break;
    case TANDEM_WIRE_PRESENCE: handle_presence (self, msg); break;
    case TANDEM_WIRE_REKEY: handle_rekey (self, msg); break;
    case TANDEM_WIRE_NEIGHBORS: handle_neighbors (self, msg); break;
    case TANDEM_WIRE_PING: break;
    case TANDEM_WIRE_ERROR_MESSAGE:
      {
        g_autofree char *reason = g_strdup_printf ("the other side said: %s",
                                                   json_object_get_string_member (msg, "reason"));
        /* no error frame back: that would go on forever */
        self->closed = TRUE;
        self->close_reason = g_steal_pointer (&reason);
        g_clear_handle_id (&self->tick_id, g_source_remove);
        tandem_transport_close (self->transport, NULL);
        g_signal_emit (self, signals[CLOSED], 0, self->close_reason);
      }
      break;
    case TANDEM_WIRE_N_TYPES:
      g_assert_not_reached ();
    }
}

static void
on_transport_closed (TandemTransport *transport,
                     const char      *reason,
                     gpointer         user_data)
{
  TandemSyncSession *self = user_data;
  g_autoptr(TandemSyncSession) keep G_GNUC_UNUSED = g_object_ref (self);

  if (self->closed)
    return;
  self->closed = TRUE;
  self->close_reason = g_strdup (reason);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_signal_emit (self, signals[CLOSED], 0, reason);
}

static gboolean
tick (gpointer data)
{
  TandemSyncSession *self = data;
  gint64 now = g_get_monotonic_time ();

  if (now - self->last_received > TANDEM_SESSION_DEAD_MS * 1000)
    {
      tandem_sync_session_close (self, "nothing heard for 8 s; the link is dead");
      return G_SOURCE_REMOVE;
    }
  if (!tandem_sync_session_is_open (self) && now - self->started > TANDEM_SESSION_HANDSHAKE_MS * 1000)
    {
      tandem_sync_session_close (self, "no notebook in common");
      return G_SOURCE_REMOVE;
    }
  if (now - self->last_sent >= TANDEM_SESSION_PING_MS * 1000 - 100000)
    send_message (self, tandem_wire_begin (TANDEM_WIRE_PING));
  return G_SOURCE_CONTINUE;
}

/**
 * tandem_sync_session_new:
 *
 * Returns: (transfer full): a session over @transport; nothing is sent
 *   before tandem_sync_session_start()
 */
TandemSyncSession *
tandem_sync_session_new (TandemPeer      *peer,
                         TandemTransport *transport)
{
  TandemSyncSession *self = g_object_new (TANDEM_TYPE_SYNC_SESSION, NULL);

  self->peer = peer;
  self->transport = g_object_ref (transport);
  self->nonce = tandem_membership_new_nonce ();
  g_signal_connect (transport, "received", G_CALLBACK (on_received), self);
  g_signal_connect (transport, "closed", G_CALLBACK (on_transport_closed), self);
  return self;
}

void
tandem_sync_session_start (TandemSyncSession *self)
{
  g_autofree char *peer = tandem_peer_id_to_string (tandem_peer_get_id (self->peer));
  JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_HELLO);

  self->started = self->last_received = g_get_monotonic_time ();
  json_builder_set_member_name (b, "proto");
  json_builder_add_int_value (b, TANDEM_PROTOCOL_VERSION);
  json_builder_set_member_name (b, "peer");
  json_builder_add_string_value (b, peer);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, _tandem_peer_get_name (self->peer));
  json_builder_set_member_name (b, "colour");
  json_builder_add_string_value (b, _tandem_peer_get_colour (self->peer));
  json_builder_set_member_name (b, "nonce");
  json_builder_add_string_value (b, self->nonce);
  send_message (self, b);
  self->tick_id = g_timeout_add (500, tick, self);
}

TandemTransport *
tandem_sync_session_get_transport (TandemSyncSession *self)
{
  return self->transport;
}

guint64
tandem_sync_session_get_remote_peer (TandemSyncSession *self)
{
  return self->remote_peer;
}

const char *
tandem_sync_session_get_remote_name (TandemSyncSession *self)
{
  return self->remote_name;
}

const char *
tandem_sync_session_get_remote_colour (TandemSyncSession *self)
{
  return self->remote_colour;
}

/* Whether a notebook is open: the other side is a proven member. */
gboolean
tandem_sync_session_is_open (TandemSyncSession *self)
{
  GHashTableIter iter;
  NotebookState *state;

  if (self->closed)
    return FALSE;
  g_hash_table_iter_init (&iter, self->notebooks);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &state))
    if (state->open)
      return TRUE;
  return FALSE;
}

gboolean
tandem_sync_session_has_notebook (TandemSyncSession *self,
                                  const char        *notebook_id)
{
  NotebookState *state = g_hash_table_lookup (self->notebooks, notebook_id);

  return !self->closed && state != NULL && state->open;
}

/**
 * tandem_sync_session_dup_notebooks:
 *
 * Returns: (transfer full) (element-type utf8): the open notebooks' ids
 */
GPtrArray *
tandem_sync_session_dup_notebooks (TandemSyncSession *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  const char *id;
  NotebookState *state;

  g_hash_table_iter_init (&iter, self->notebooks);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &state))
    if (state->open)
      g_ptr_array_add (out, g_strdup (id));
  return out;
}

/**
 * tandem_sync_session_is_synced:
 * @reason: (out) (optional): what is still missing, when not synced
 *
 * Returns: whether the other side has said it has every event of every
 *   note this peer has, in every notebook open on this session
 */
gboolean
tandem_sync_session_is_synced (TandemSyncSession  *self,
                               const char        **reason)
{
  GHashTableIter iter;
  const char *notebook_id;
  NotebookState *state;

  g_hash_table_iter_init (&iter, self->notebooks);
  while (g_hash_table_iter_next (&iter, (gpointer *) &notebook_id, (gpointer *) &state))
    {
      g_autoptr(GPtrArray) note_ids = NULL;

      if (!state->open)
        continue;
      note_ids = _tandem_peer_list_note_ids (self->peer, notebook_id);
      for (guint i = 0; i < note_ids->len; i++)
        {
          NoteState *note_state = g_hash_table_lookup (state->notes, g_ptr_array_index (note_ids, i));
          TandemSavedNote *saved;

          if (note_state == NULL || note_state->known == NULL)
            {
              if (reason)
                *reason = "a note has not been acknowledged";
              return FALSE;
            }
          saved = _tandem_peer_open_note (self->peer, notebook_id, g_ptr_array_index (note_ids, i),
                                          FALSE, NULL);
          if (saved != NULL &&
              !tandem_version_vector_leq (tandem_note_get_version (tandem_saved_note_get_note (saved)),
                                          note_state->known))
            {
              if (reason)
                *reason = "a note has events the other side has not acknowledged";
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Moves a position placed in the text at @version over what the note
 * has that @version had not: exact when those edits came after it, close
 * when they were concurrent with it. */
static gint64
transform_position (TandemNote                *note,
                    const TandemVersionVector *version,
                    gint64                     pos)
{
  g_autoptr(GPtrArray) since = tandem_note_dup_events_since (note, version);

  for (guint i = 0; i < since->len; i++)
    {
      TandemEvent *e = g_ptr_array_index (since, i);

      if (e->kind == TANDEM_OP_INSERT)
        {
          if ((gint64) e->pos < pos)
            pos += e->len;
        }
      else if (e->kind != TANDEM_OP_FIELD)
        {
          /* a backward run deletes pos, pos - 1, ... */
          gint64 start = e->kind == TANDEM_OP_DELETE_BACKWARD ? (gint64) e->pos - e->len + 1
                                                              : (gint64) e->pos;

          pos -= CLAMP (pos - start, 0, (gint64) e->len);
        }
    }
  return CLAMP (pos, 0, (gint64) tandem_note_get_length (note));
}

/**
 * tandem_sync_session_dup_presence:
 *
 * Returns: (transfer full): what the other side last said of itself, its
 *   cursor and selection moved into this peer's text as it is now
 */
TandemPresence *
tandem_sync_session_dup_presence (TandemSyncSession *self)
{
  TandemPresence *out = g_new0 (TandemPresence, 1);

  out->state = g_strdup (self->presence.state ? self->presence.state : "online");
  out->note_id = g_strdup (self->presence.note_id);
  out->pos = out->anchor = -1;
  if (self->presence.note_id != NULL && self->presence_version != NULL)
    {
      TandemSavedNote *saved = _tandem_peer_open_note (self->peer,
                                                       tandem_peer_get_note_notebook (self->peer, self->presence.note_id),
                                                       self->presence.note_id, FALSE, NULL);

      if (saved != NULL)
        {
          TandemNote *note = tandem_saved_note_get_note (saved);

          out->pos = transform_position (note, self->presence_version, self->presence.pos);
          out->anchor = transform_position (note, self->presence_version, self->presence.anchor);
        }
    }
  return out;
}

void
tandem_presence_free (TandemPresence *presence)
{
  g_free (presence->state);
  g_free (presence->note_id);
  g_free (presence);
}

/**
 * tandem_sync_session_get_presence_note:
 *
 * Returns: (nullable): the note the other side has open, without moving
 *   its cursor into today's text (for lists of who is where)
 */
const char *
tandem_sync_session_get_presence_note (TandemSyncSession *self)
{
  return self->presence.note_id;
}

/**
 * tandem_sync_session_get_presence_state:
 *
 * Returns: "online" or "idle", as the other side last said (without
 *   moving its cursor, as tandem_sync_session_dup_presence() does)
 */
const char *
tandem_sync_session_get_presence_state (TandemSyncSession *self)
{
  return self->presence.state ? self->presence.state : "online";
}
