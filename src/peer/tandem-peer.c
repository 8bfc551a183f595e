/* tandem-peer.c: one running replica — store, notebooks and network
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The peer owns the store, the notes it has open, a TLS WebSocket server,
 * discovery, and one TandemSyncSession per connection. It is what the app
 * and `tandem-peer run` both drive.
 *
 * - Every change to a note, local or remote, is committed to the store
 *   first and then pushed to every session where the note's notebook is
 *   open, except back to where it came from: so a chain A–B–C converges.
 * - Two peers connected twice (each dialled the other) keep the connection
 *   opened by the smaller peer id; both sides decide the same.
 * - Peers to dial come from --connect, invites, discovery (when one of the
 *   notebook tags in their TXT record is one of ours) and the addresses
 *   where members were last seen. A lost connection is retried with
 *   exponential backoff and jitter; a peer that is already connected (it
 *   may have dialled us) is not dialled again.
 */
#include "tandem-peer-private.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "tandem-discovery.h"
#include "tandem-event-codec.h"
#include "tandem-invite.h"
#include "tandem-membership.h"
#include "tandem-server.h"
#include "tandem-websocket-transport.h"

#define BACKOFF_MIN_MS 250
/* Presence goes out at most this often: typing moves the cursor on every
 * key, and only where it ends matters. */
#define PRESENCE_MS 50
/* Runs from others are saved (and acknowledged) this long after they came,
 * many at once; see Settle. */
#define SETTLE_MS 20
#define BACKOFF_MAX_MS 30000

typedef struct
{
  TandemPeer *peer;
  char *host;
  guint16 port;
  guint64 peer_id;              /* 0 until known */
  char *service;                /* the discovery name, or NULL */
  gboolean manual;              /* --connect or an invite: never dropped */
  guint attempt;
  gboolean failed;              /* the last try did not reach a member */
  guint timer_id;
  GCancellable *connecting;
  TandemSyncSession *session;   /* weak */
} Target;

struct _TandemPeer
{
  GObject parent_instance;

  TandemStore *store;
  guint64 id;
  char *name;
  char *colour;
  GTlsCertificate *certificate;
  char *fingerprint;

  GPtrArray *notebooks;         /* TandemPeerNotebook, the shared ones */
  GHashTable *notes;            /* note id -> TandemSavedNote, opened */
  GHashTable *note_notebook;    /* note id -> notebook id, every note */
  GHashTable *conflicts;        /* "note/field" reported as conflicts */
  GHashTable *announced;        /* peer ids (guint64 *) reported connected */
  GPtrArray *leaving;           /* DeferredLeave, not yet announced */
  GHashTable *settling;         /* note id -> Settle: remote runs not saved yet */

  TandemServer *server;
  TandemDiscovery *discovery;
  GPtrArray *sessions;          /* TandemSyncSession */
  GPtrArray *targets;           /* Target */

  char *presence_state;
  char *presence_note;
  gint64 presence_pos;
  gint64 presence_anchor;
  guint presence_id;
};

G_DEFINE_FINAL_TYPE (TandemPeer, tandem_peer, G_TYPE_OBJECT)

enum {
  PEER_CONNECTED,
  PEER_DISCONNECTED,
  REMOTE_CHANGE,
  CONFLICT,
  NOTICE,
  CHANGED,
  NOTE_RELOADED,
  NOTE_SAVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

typedef struct _Settle Settle;
static void     settle_free     (Settle     *settle);
static void     schedule_dial   (TandemPeer *self,
                                 Target     *target);
static gboolean is_connected_to (TandemPeer *self,
                                 guint64     peer_id);

static void
peer_notebook_free (TandemPeerNotebook *notebook)
{
  g_free (notebook->id);
  g_free (notebook->name);
  g_clear_pointer (&notebook->key, g_bytes_unref);
  g_clear_pointer (&notebook->previous_key, g_bytes_unref);
  g_free (notebook);
}

static void
target_free (Target *target)
{
  g_clear_handle_id (&target->timer_id, g_source_remove);
  if (target->connecting != NULL)
    g_cancellable_cancel (target->connecting);
  g_clear_object (&target->connecting);
  g_free (target->host);
  g_free (target->service);
  g_free (target);
}

static void
tandem_peer_dispose (GObject *object)
{
  TandemPeer *self = TANDEM_PEER (object);

  tandem_peer_stop (self);
  G_OBJECT_CLASS (tandem_peer_parent_class)->dispose (object);
}

static void
tandem_peer_finalize (GObject *object)
{
  TandemPeer *self = TANDEM_PEER (object);

  g_clear_object (&self->store);
  g_clear_object (&self->certificate);
  g_free (self->name);
  g_free (self->colour);
  g_free (self->fingerprint);
  g_free (self->presence_state);
  g_free (self->presence_note);
  g_ptr_array_unref (self->notebooks);
  g_hash_table_unref (self->notes);
  g_hash_table_unref (self->note_notebook);
  g_hash_table_unref (self->conflicts);
  g_hash_table_unref (self->announced);
  g_ptr_array_unref (self->leaving);
  g_hash_table_unref (self->settling);
  g_ptr_array_unref (self->sessions);
  g_ptr_array_unref (self->targets);
  G_OBJECT_CLASS (tandem_peer_parent_class)->finalize (object);
}

static void
tandem_peer_class_init (TandemPeerClass *klass)
{
  GType type = G_TYPE_FROM_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = tandem_peer_dispose;
  G_OBJECT_CLASS (klass)->finalize = tandem_peer_finalize;

  /* a member connected: its first notebook opened on a session */
  signals[PEER_CONNECTED] = g_signal_new ("peer-connected", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 1, TANDEM_TYPE_SYNC_SESSION);
  /* a member's session closed (@reason says why) */
  signals[PEER_DISCONNECTED] = g_signal_new ("peer-disconnected", type, G_SIGNAL_RUN_LAST, 0, NULL,
                                             NULL, NULL, G_TYPE_NONE, 2, TANDEM_TYPE_SYNC_SESSION,
                                             G_TYPE_STRING);
  /* events by @author changed note @note_id */
  signals[REMOTE_CHANGE] = g_signal_new ("remote-change", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_UINT64);
  /* a field in "ask me" mode of @note_id has concurrent values */
  signals[CONFLICT] = g_signal_new ("conflict", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /* for the log: @kind "error" (refused input, a note that cannot be
   * read) or "notice" (discovery unavailable, ...), and @message */
  signals[NOTICE] = g_signal_new ("notice", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /* the note's TandemNote was replaced by a new object (a refused batch
   * was thrown away, or the note was rebuilt from its history): views of
   * it must show it afresh */
  signals[NOTE_RELOADED] = g_signal_new ("note-reloaded", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* @note_id was written to the store: what lists notes from the store
   * (the window's sidebar) reads it again now, not before */
  signals[NOTE_SAVED] = g_signal_new ("note-saved", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* sessions, sync state or presence changed */
  signals[CHANGED] = g_signal_new ("changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);
}

static void
tandem_peer_init (TandemPeer *self)
{
  self->notebooks = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_notebook_free);
  self->notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->note_notebook = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->conflicts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->announced = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->leaving = g_ptr_array_new ();
  self->settling = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) settle_free);
  self->sessions = g_ptr_array_new_with_free_func (g_object_unref);
  self->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  self->presence_state = g_strdup ("online");
  self->presence_pos = self->presence_anchor = -1;
}

void
_tandem_peer_notice (TandemPeer *self,
                     const char *format,
                     ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_debug ("%s", message);
  g_signal_emit (self, signals[NOTICE], 0, "error", message);
}

static void
changed (TandemPeer *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

/* ---- notebooks and notes ---- */

static gboolean
load_notebooks (TandemPeer  *self,
                GError     **error)
{
  g_autoptr(GPtrArray) notebooks = tandem_store_list_notebooks (self->store, error);
  const char *private_id = tandem_store_get_private_notebook_id (self->store);

  if (notebooks == NULL)
    return FALSE;
  g_ptr_array_set_size (self->notebooks, 0);
  for (guint i = 0; i < notebooks->len; i++)
    {
      TandemStoreNotebook *stored = g_ptr_array_index (notebooks, i);
      g_autoptr(GPtrArray) notes = tandem_store_list_notes (self->store, stored->id, error);

      if (notes == NULL)
        return FALSE;
      for (guint k = 0; k < notes->len; k++)
        {
          TandemStoreNoteInfo *info = g_ptr_array_index (notes, k);

          g_hash_table_insert (self->note_notebook, g_strdup (info->id), g_strdup (stored->id));
        }
      if (g_str_equal (stored->id, private_id))
        continue;
      {
        TandemPeerNotebook *notebook = g_new0 (TandemPeerNotebook, 1);

        notebook->id = g_strdup (stored->id);
        notebook->name = g_strdup (stored->name);
        notebook->key = g_bytes_ref (stored->secret_key);
        notebook->previous_key = stored->previous_key ? g_bytes_ref (stored->previous_key) : NULL;
        g_ptr_array_add (self->notebooks, notebook);
      }
    }
  return TRUE;
}

GPtrArray *
_tandem_peer_get_notebooks (TandemPeer *self)
{
  return self->notebooks;
}

TandemPeerNotebook *
_tandem_peer_find_notebook (TandemPeer *self,
                            const char *notebook_id)
{
  for (guint i = 0; i < self->notebooks->len; i++)
    {
      TandemPeerNotebook *notebook = g_ptr_array_index (self->notebooks, i);

      if (g_str_equal (notebook->id, notebook_id))
        return notebook;
    }
  return NULL;
}

/* The name and colour as the profile has them now (the user may change
 * them in the preferences while connected); each hello reads them. */
const char *
_tandem_peer_get_name (TandemPeer *self)
{
  g_free (self->name);
  self->name = tandem_store_dup_display_name (self->store);
  return self->name;
}

const char *
_tandem_peer_get_colour (TandemPeer *self)
{
  g_free (self->colour);
  self->colour = tandem_store_dup_colour (self->store);
  return self->colour;
}

/* The read policy of each field: the notebook's choice, else "ask me"
 * for the title and a set for tags; every other field: last writer wins. */
static void
apply_policies (TandemPeer *self,
                TandemNote *note,
                const char *notebook_id)
{
  g_autoptr(TandemStoreNotebook) notebook = tandem_store_dup_notebook (self->store, notebook_id, NULL);
  g_autoptr(JsonNode) root = NULL;

  tandem_note_set_field_policy (note, "title", TANDEM_FIELD_POLICY_MANUAL);
  tandem_note_set_field_policy (note, "tags", TANDEM_FIELD_POLICY_SET);
  if (notebook == NULL || (root = json_from_string (notebook->field_policies, NULL)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root))
    return;
  {
    JsonObject *policies = json_node_get_object (root);
    g_autoptr(GList) fields = json_object_get_members (policies);

    for (GList *l = fields; l; l = l->next)
      {
        const char *policy = json_object_get_string_member_with_default (policies, l->data, "");

        tandem_note_set_field_policy (note, l->data,
                                      g_str_equal (policy, "manual") ? TANDEM_FIELD_POLICY_MANUAL
                                      : g_str_equal (policy, "set") ? TANDEM_FIELD_POLICY_SET
                                      : TANDEM_FIELD_POLICY_LWW);
      }
  }
}

static void
check_conflicts (TandemPeer      *self,
                 TandemSavedNote *saved)
{
  TandemNote *note = tandem_saved_note_get_note (saved);
  g_autoptr(GPtrArray) names = tandem_field_table_dup_names (tandem_note_get_fields (note));

  for (guint i = 0; i < names->len; i++)
    {
      const char *field = g_ptr_array_index (names, i);
      g_autofree char *key = g_strdup_printf ("%s/%s", tandem_saved_note_get_id (saved), field);
      g_autoptr(GPtrArray) values = NULL;

      if (tandem_note_get_field_policy (note, field) != TANDEM_FIELD_POLICY_MANUAL)
        continue;
      values = tandem_note_dup_field_values (note, field);
      if (values->len > 1)
        {
          if (g_hash_table_add (self->conflicts, g_steal_pointer (&key)))
            g_signal_emit (self, signals[CONFLICT], 0, tandem_saved_note_get_id (saved), field);
        }
      else
        g_hash_table_remove (self->conflicts, key);
    }
}

static void
watch_note (TandemPeer      *self,
            TandemSavedNote *saved,
            const char      *notebook_id)
{
  TandemNote *note = tandem_saved_note_get_note (saved);

  apply_policies (self, note, notebook_id);
}

static TandemSavedNote *
keep_note (TandemPeer      *self,
           TandemSavedNote *saved,
           const char      *notebook_id)
{
  watch_note (self, saved, notebook_id);
  g_hash_table_insert (self->notes, g_strdup (tandem_saved_note_get_id (saved)), saved);
  g_hash_table_insert (self->note_notebook, g_strdup (tandem_saved_note_get_id (saved)),
                       g_strdup (notebook_id));
  return saved;
}

/* The note's TandemNote was replaced (reverted, rebuilt): watch the new
 * one, and tell whoever shows it. */
static void
reload_note (TandemPeer      *self,
             TandemSavedNote *saved)
{
  const char *note_id = tandem_saved_note_get_id (saved);

  watch_note (self, saved, g_hash_table_lookup (self->note_notebook, note_id));
  g_signal_emit (self, signals[NOTE_RELOADED], 0, note_id);
}

/**
 * _tandem_peer_open_note:
 * @create: make the note if it does not exist (it was made elsewhere)
 *
 * Returns: (transfer none) (nullable): the note, or %NULL: with @error set
 *   when it belongs to another notebook or cannot be read, without when it
 *   does not exist and @create is %FALSE
 */
TandemSavedNote *
_tandem_peer_open_note (TandemPeer  *self,
                        const char  *notebook_id,
                        const char  *note_id,
                        gboolean     create,
                        GError     **error)
{
  const char *owner = g_hash_table_lookup (self->note_notebook, note_id);
  TandemSavedNote *saved;

  if (owner != NULL && !g_str_equal (owner, notebook_id))
    {
      /* never let one notebook's members reach into another */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "note %s is not in notebook %s", note_id, notebook_id);
      return NULL;
    }
  saved = g_hash_table_lookup (self->notes, note_id);
  if (saved != NULL)
    return saved;
  if (owner != NULL)
    saved = tandem_saved_note_load (self->store, note_id, self->id, error);
  else if (create)
    {
      saved = tandem_saved_note_create_with_id (self->store, notebook_id, note_id, self->id, error);
      if (saved != NULL)
        {
          keep_note (self, saved, notebook_id);
          for (guint i = 0; i < self->sessions->len; i++)
            tandem_sync_session_push_note (g_ptr_array_index (self->sessions, i), notebook_id, saved);
          return saved;
        }
    }
  else
    return NULL;
  if (saved == NULL)
    return NULL;
  return keep_note (self, saved, notebook_id);
}

/* Forgets a note that was made for a message that was then refused. */
void
_tandem_peer_forget_note (TandemPeer *self,
                          const char *note_id)
{
  g_autoptr(GError) error = NULL;

  g_hash_table_remove (self->notes, note_id);
  g_hash_table_remove (self->note_notebook, note_id);
  if (!tandem_store_delete_note (self->store, note_id, &error))
    _tandem_peer_notice (self, "%s", error->message);
}

/**
 * _tandem_peer_list_note_ids:
 *
 * Returns: (transfer container) (element-type utf8): the ids of every note
 *   of the notebook, borrowed
 */
GPtrArray *
_tandem_peer_list_note_ids (TandemPeer *self,
                            const char *notebook_id)
{
  GPtrArray *ids = g_ptr_array_new ();
  GHashTableIter iter;
  const char *note_id, *owner;

  g_hash_table_iter_init (&iter, self->note_notebook);
  while (g_hash_table_iter_next (&iter, (gpointer *) &note_id, (gpointer *) &owner))
    if (g_str_equal (owner, notebook_id))
      g_ptr_array_add (ids, (gpointer) note_id);
  return ids;
}

/* Pushes a changed note to every session but @except. */
static void
push_note (TandemPeer        *self,
           TandemSavedNote   *saved,
           TandemSyncSession *except)
{
  const char *notebook_id = g_hash_table_lookup (self->note_notebook, tandem_saved_note_get_id (saved));

  for (guint i = 0; i < self->sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (self->sessions, i);

      if (session != except)
        tandem_sync_session_push_note (session, notebook_id, saved);
    }
}

/* Runs from other peers are applied and passed on at once, and saved a
 * moment later (SETTLE_MS), many in one commit: one fsync per remote
 * keystroke would make a group's latency that of the disk. Their senders
 * have them saved; what is acknowledged ("have") is only what is saved
 * here. Until then they are kept, to be taken again if a later batch is
 * refused and the note is loaded back from the store. */
struct _Settle
{
  TandemPeer *peer;
  char *note_id;
  GPtrArray *uncommitted;       /* of GPtrArray of TandemEvent: batches taken since the commit */
  guint source_id;
};

static void
settle_free (Settle *settle)
{
  g_clear_handle_id (&settle->source_id, g_source_remove);
  g_ptr_array_unref (settle->uncommitted);
  g_free (settle->note_id);
  g_free (settle);
}

static Settle *
get_settle (TandemPeer *self,
            const char *note_id)
{
  Settle *settle = g_hash_table_lookup (self->settling, note_id);

  if (settle == NULL)
    {
      settle = g_new0 (Settle, 1);
      settle->peer = self;
      settle->note_id = g_strdup (note_id);
      settle->uncommitted = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
      g_hash_table_insert (self->settling, settle->note_id, settle);
    }
  return settle;
}

/* Saves what a note took from others and tells every member connected. */
static gboolean
settle_now (gpointer data)
{
  Settle *settle = data;
  TandemPeer *self = settle->peer;
  const char *notebook_id = g_hash_table_lookup (self->note_notebook, settle->note_id);
  TandemSavedNote *saved = g_hash_table_lookup (self->notes, settle->note_id);
  g_autoptr(GError) error = NULL;

  settle->source_id = 0;
  if (saved == NULL || notebook_id == NULL)
    {
      g_hash_table_remove (self->settling, settle->note_id);
      return G_SOURCE_REMOVE;
    }
  if (!tandem_saved_note_commit (saved, &error))
    {
      /* kept in memory; tried again in a while (a full disk may clear) */
      _tandem_peer_notice (self, "note %s: %s", settle->note_id, error->message);
      settle->source_id = g_timeout_add_seconds (1, settle_now, settle);
      return G_SOURCE_REMOVE;
    }
  for (guint i = 0; i < self->sessions->len; i++)
    tandem_sync_session_send_have (g_ptr_array_index (self->sessions, i), notebook_id, saved);
  g_signal_emit (self, signals[NOTE_SAVED], 0, settle->note_id);
  g_hash_table_remove (self->settling, settle->note_id);
  return G_SOURCE_REMOVE;
}

static void
settle_all (TandemPeer *self)
{
  g_autoptr(GList) settles = g_hash_table_get_values (self->settling);

  for (GList *l = settles; l != NULL; l = l->next)
    {
      Settle *settle = l->data;

      g_clear_handle_id (&settle->source_id, g_source_remove);
      settle_now (settle);
    }
}

/**
 * _tandem_peer_apply_remote:
 * @settling: (out): whether the note took something, to be saved and
 *   acknowledged to every member a moment later; when %FALSE the sender
 *   is owed an acknowledgement now
 *
 * Returns: %FALSE when the batch is refused (the note is then as before)
 */
gboolean
_tandem_peer_apply_remote (TandemPeer         *self,
                           TandemSyncSession  *from,
                           TandemSavedNote    *saved,
                           GPtrArray          *events,
                           gboolean           *settling,
                           GError            **error)
{
  TandemNote *note = tandem_saved_note_get_note (saved);
  g_autoptr(TandemVersionVector) before = tandem_version_vector_copy (tandem_note_get_version (note));
  guint pending_before = tandem_note_get_n_pending (note);
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GArray) authors = g_array_new (FALSE, FALSE, sizeof (guint64));
  const TandemVersionVector *after;
  const char *notebook_id;
  Settle *settle;

  *settling = FALSE;
  if (!tandem_note_receive_many (note, events, &errors))
    {
      g_autoptr(GError) revert_error = NULL;

      g_propagate_error (error, g_error_copy (g_ptr_array_index (errors, 0)));
      /* the batch is refused whole: what was valid in it may have been
       * taken in memory; load the note again, with what earlier batches
       * brought that is not saved yet */
      if (!tandem_saved_note_revert (saved, &revert_error))
        _tandem_peer_notice (self, "note %s: %s", tandem_saved_note_get_id (saved), revert_error->message);
      settle = g_hash_table_lookup (self->settling, tandem_saved_note_get_id (saved));
      for (guint i = 0; settle != NULL && i < settle->uncommitted->len; i++)
        tandem_note_receive_many (tandem_saved_note_get_note (saved), g_ptr_array_index (settle->uncommitted, i), NULL);
      reload_note (self, saved);
      return FALSE;
    }
  after = tandem_note_get_version (note);
  if (tandem_version_vector_equal (before, after) && tandem_note_get_n_pending (note) == pending_before)
    return TRUE;   /* nothing new */

  settle = get_settle (self, tandem_saved_note_get_id (saved));
  g_ptr_array_add (settle->uncommitted, g_ptr_array_ref (events));
  if (settle->source_id == 0)
    settle->source_id = g_timeout_add (SETTLE_MS, settle_now, settle);
  *settling = TRUE;
  if (tandem_version_vector_equal (before, after))
    return TRUE;   /* only waiting for parents */

  for (guint i = 0; i < tandem_version_vector_get_size (after); i++)
    {
      const TandemVersionEntry *entry = tandem_version_vector_get_entry (after, i);

      if (entry->count > tandem_version_vector_get (before, entry->peer))
        g_array_append_val (authors, entry->peer);
    }
  /* on to the others: a gossip relay, so a chain converges */
  notebook_id = g_hash_table_lookup (self->note_notebook, tandem_saved_note_get_id (saved));
  for (guint i = 0; i < self->sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (self->sessions, i);

      if (session != from &&
          !tandem_sync_session_skip_relay (session, notebook_id, tandem_saved_note_get_id (saved), authors, after))
        tandem_sync_session_push_note (session, notebook_id, saved);
    }
  for (guint i = 0; i < authors->len; i++)
    g_signal_emit (self, signals[REMOTE_CHANGE], 0, tandem_saved_note_get_id (saved),
                   g_array_index (authors, guint64, i));
  check_conflicts (self, saved);
  changed (self);
  return TRUE;
}

/**
 * _tandem_peer_repair_note:
 *
 * Rebuilds a note from its history, after a peer at the same version
 * showed a different one.
 *
 * Returns: whether the note changed
 */
gboolean
_tandem_peer_repair_note (TandemPeer      *self,
                          TandemSavedNote *saved)
{
  const char *note_id = tandem_saved_note_get_id (saved);
  g_autofree char *before = _tandem_peer_note_checksum (tandem_saved_note_get_note (saved));
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;

  g_signal_handlers_disconnect_by_data (tandem_saved_note_get_note (saved), saved);
  if (!tandem_saved_note_rebuild (saved, &error))
    _tandem_peer_notice (self, "note %s cannot be rebuilt from its history: %s", note_id, error->message);
  reload_note (self, saved);
  after = _tandem_peer_note_checksum (tandem_saved_note_get_note (saved));
  if (g_str_equal (before, after))
    return FALSE;
  _tandem_peer_notice (self, "note %s did not show what its history makes; rebuilt it (checksum %s, was %s)",
                       note_id, after, before);
  check_conflicts (self, saved);
  changed (self);
  return TRUE;
}

char *
_tandem_peer_note_checksum (TandemNote *note)
{
  g_autofree char *text = tandem_note_dup_text (note);
  g_autofree char *fields = tandem_saved_note_dup_fields_json (note);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  g_checksum_update (sum, (const guchar *) text, strlen (text) + 1);
  g_checksum_update (sum, (const guchar *) fields, strlen (fields));
  return g_strdup (g_checksum_get_string (sum));
}

/* ---- members ---- */

gboolean
_tandem_peer_is_member (TandemPeer *self,
                        const char *notebook_id,
                        guint64     peer_id,
                        const char *fingerprint)
{
  g_autoptr(TandemStoreMember) member = tandem_store_dup_member (self->store, notebook_id, peer_id, NULL);

  return member != NULL && g_str_equal (member->cert_fingerprint, fingerprint);
}

/* Adds a member, or checks one we know against its pinned certificate. */
gboolean
_tandem_peer_admit_member (TandemPeer  *self,
                           const char  *notebook_id,
                           guint64      peer_id,
                           const char  *name,
                           const char  *fingerprint,
                           GError     **error)
{
  g_autoptr(TandemStoreMember) member = tandem_store_dup_member (self->store, notebook_id, peer_id, NULL);

  if (member != NULL && !g_str_equal (member->cert_fingerprint, fingerprint))
    {
      g_autofree char *peer = tandem_peer_id_to_string (peer_id);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "peer %s showed a certificate other than the one pinned for it", peer);
      return FALSE;
    }
  if (member != NULL && g_str_equal (member->name, name))
    return TRUE;
  if (!tandem_store_add_member (self->store, notebook_id, peer_id, name, fingerprint, error))
    return FALSE;
  /* the member list syncs: tell every member connected (a member that
   * already has this one changes nothing, so this ends) */
  for (guint i = 0; i < self->sessions->len; i++)
    tandem_sync_session_send_members (g_ptr_array_index (self->sessions, i), notebook_id);
  changed (self);
  return TRUE;
}

/**
 * _tandem_peer_list_members:
 *
 * Returns: (transfer container) (element-type TandemStoreMember): the
 *   notebook's members, this peer included
 */
GPtrArray *
_tandem_peer_list_members (TandemPeer *self,
                           const char *notebook_id)
{
  GPtrArray *members = tandem_store_list_members (self->store, notebook_id, NULL);
  TandemStoreMember *me;

  if (members == NULL)
    members = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_store_member_free);
  me = g_new0 (TandemStoreMember, 1);
  me->notebook_id = g_strdup (notebook_id);
  me->peer_id = self->id;
  me->name = g_strdup (self->name);
  me->cert_fingerprint = g_strdup (self->fingerprint);
  g_ptr_array_add (members, me);
  return members;
}

void
_tandem_peer_rename_notebook (TandemPeer *self,
                              const char *notebook_id,
                              const char *name)
{
  TandemPeerNotebook *notebook = _tandem_peer_find_notebook (self, notebook_id);

  /* a joined notebook has no name until a member tells it */
  if (notebook == NULL || *notebook->name != '\0' || *name == '\0')
    return;
  if (tandem_store_set_notebook_name (self->store, notebook_id, name, NULL))
    {
      g_free (notebook->name);
      notebook->name = g_strdup (name);
    }
}

static void
update_discovery_txt (TandemPeer *self);

gboolean
_tandem_peer_rekey_notebook (TandemPeer         *self,
                             TandemSyncSession  *from,
                             const char         *notebook_id,
                             GBytes             *key,
                             GPtrArray          *removed,
                             GError            **error)
{
  TandemPeerNotebook *notebook = _tandem_peer_find_notebook (self, notebook_id);

  if (notebook == NULL)
    return TRUE;
  for (guint i = 0; removed && i < removed->len; i++)
    {
      guint64 peer = *(guint64 *) g_ptr_array_index (removed, i);

      if (peer == self->id)
        continue;
      tandem_store_remove_member (self->store, notebook_id, peer, NULL);
      for (guint k = 0; k < self->sessions->len; k++)
        {
          TandemSyncSession *session = g_ptr_array_index (self->sessions, k);

          if (tandem_sync_session_get_remote_peer (session) == peer &&
              tandem_sync_session_has_notebook (session, notebook_id))
            tandem_sync_session_close (session, "removed from the notebook");
        }
    }
  if (g_bytes_equal (key, notebook->key))
    return TRUE;
  if (!tandem_store_set_notebook_key (self->store, notebook_id, key, error))
    return FALSE;
  g_clear_pointer (&notebook->previous_key, g_bytes_unref);
  notebook->previous_key = notebook->key;
  notebook->key = g_bytes_ref (key);
  update_discovery_txt (self);
  /* pass it on, so members not connected to its maker get it too */
  for (guint k = 0; k < self->sessions->len; k++)
    {
      TandemSyncSession *session = g_ptr_array_index (self->sessions, k);

      if (session != from)
        tandem_sync_session_send_rekey (session, notebook_id, key, removed);
    }
  return TRUE;
}

/* ---- sessions ---- */

static Target *
find_target_for_session (TandemPeer        *self,
                         TandemSyncSession *session)
{
  for (guint i = 0; i < self->targets->len; i++)
    {
      Target *target = g_ptr_array_index (self->targets, i);

      if (target->session == session)
        return target;
    }
  return NULL;
}

/* A member is announced ("peer-connected") once however many sessions
 * carry it, and leaves ("peer-disconnected") when the last one closes. */
static void
announce_leave_now (TandemPeer        *self,
                    TandemSyncSession *session,
                    const char        *reason)
{
  guint64 remote = tandem_sync_session_get_remote_peer (session);

  if (is_connected_to (self, remote) || !g_hash_table_remove (self->announced, &remote))
    return;
  g_signal_emit (self, signals[PEER_DISCONNECTED], 0, session, reason);
}

typedef struct
{
  TandemPeer *peer;             /* which removes the source when it stops */
  TandemSyncSession *session;
  char *reason;
  guint source_id;
} DeferredLeave;

static void
deferred_leave_free (gpointer data)
{
  DeferredLeave *leave = data;

  g_object_unref (leave->session);
  g_free (leave->reason);
  g_free (leave);
}

static gboolean
announce_leave (gpointer data)
{
  DeferredLeave *leave = data;

  g_ptr_array_remove (leave->peer->leaving, leave);
  announce_leave_now (leave->peer, leave->session, leave->reason);
  return G_SOURCE_REMOVE;
}

/* Tells every member connected whom this peer syncs each notebook with,
 * so that they do not relay to it what it gets first-hand. */
static void
announce_neighbors (TandemPeer *self)
{
  for (guint n = 0; n < self->notebooks->len; n++)
    {
      TandemPeerNotebook *notebook = g_ptr_array_index (self->notebooks, n);
      g_autoptr(GArray) peers = g_array_new (FALSE, FALSE, sizeof (guint64));

      for (guint i = 0; i < self->sessions->len; i++)
        {
          TandemSyncSession *session = g_ptr_array_index (self->sessions, i);
          guint64 remote = tandem_sync_session_get_remote_peer (session);

          if (tandem_sync_session_has_notebook (session, notebook->id))
            g_array_append_val (peers, remote);
        }
      for (guint i = 0; i < self->sessions->len; i++)
        tandem_sync_session_send_neighbors (g_ptr_array_index (self->sessions, i), notebook->id, peers);
    }
}

static void
on_session_closed (TandemSyncSession *session,
                   const char        *reason,
                   gpointer           user_data)
{
  TandemPeer *self = user_data;
  g_autoptr(TandemSyncSession) keep G_GNUC_UNUSED = g_object_ref (session);
  Target *target = find_target_for_session (self, session);
  g_autoptr(GPtrArray) notebooks = tandem_sync_session_dup_notebooks (session);
  gboolean was_open = notebooks->len > 0;

  g_ptr_array_remove (self->sessions, session);
  if (was_open)
    announce_neighbors (self);
  if (target != NULL)
    {
      target->session = NULL;
      target->failed |= !was_open;
      schedule_dial (self, target);
    }
  if (was_open && !is_connected_to (self, tandem_sync_session_get_remote_peer (session)))
    {
      /* the other side closing a duplicate may tell us before our other
       * session to it has opened: give that one a moment */
      if (reason != NULL && strstr (reason, "duplicate connection") != NULL)
        {
          DeferredLeave *leave = g_new0 (DeferredLeave, 1);

          leave->peer = self;
          leave->session = g_object_ref (session);
          leave->reason = g_strdup (reason);
          leave->source_id = g_timeout_add_full (G_PRIORITY_DEFAULT, 3000, announce_leave, leave,
                                                 deferred_leave_free);
          g_ptr_array_add (self->leaving, leave);
        }
      else
        announce_leave_now (self, session, reason);
    }
  changed (self);
}

void
_tandem_peer_session_opened (TandemPeer        *self,
                             TandemSyncSession *session)
{
  guint64 remote = tandem_sync_session_get_remote_peer (session);
  Target *target = find_target_for_session (self, session);

  if (target != NULL)
    target->peer_id = remote;   /* so it is not dialled while connected */

  /* connected twice? keep what the smaller peer id dialled */
  for (guint i = 0; i < self->sessions->len; i++)
    {
      TandemSyncSession *other = g_ptr_array_index (self->sessions, i);
      TandemRole role = tandem_transport_get_role (tandem_sync_session_get_transport (session));
      guint64 client = role == TANDEM_ROLE_CLIENT ? self->id : remote;

      if (other == session || tandem_sync_session_get_remote_peer (other) != remote ||
          !tandem_sync_session_is_open (other))
        continue;
      if (client > MIN (self->id, remote))
        {
          tandem_sync_session_close (session, "duplicate connection");
          return;
        }
      tandem_sync_session_close (other, "duplicate connection");
      break;
    }

  if (target != NULL)
    {
      target->attempt = 0;
      target->failed = FALSE;
      target->peer_id = remote;
      tandem_store_remember_address (self->store, remote, target->host, target->port, NULL);
    }
  announce_neighbors (self);
  if (!g_hash_table_contains (self->announced, &remote))
    {
      g_hash_table_add (self->announced, g_memdup2 (&remote, sizeof remote));
      g_signal_emit (self, signals[PEER_CONNECTED], 0, session);
    }
  if (self->presence_note != NULL || g_strcmp0 (self->presence_state, "online") != 0)
    {
      const char *notebook_id = self->presence_note
                                ? g_hash_table_lookup (self->note_notebook, self->presence_note) : NULL;
      TandemSavedNote *saved = self->presence_note
                               ? g_hash_table_lookup (self->notes, self->presence_note) : NULL;

      tandem_sync_session_send_presence (session, self->presence_state, notebook_id, saved,
                                         self->presence_pos, self->presence_anchor);
    }
  changed (self);
}

void
_tandem_peer_session_changed (TandemPeer        *self,
                              TandemSyncSession *session)
{
  changed (self);
}

/**
 * tandem_peer_add_transport:
 *
 * Runs the sync protocol over @transport: one accepted by our server, or
 * an in-memory one in tests.
 */
void
tandem_peer_add_transport (TandemPeer      *self,
                           TandemTransport *transport)
{
  TandemSyncSession *session = tandem_sync_session_new (self, transport);

  g_ptr_array_add (self->sessions, session);
  g_signal_connect_object (session, "closed", G_CALLBACK (on_session_closed), self, 0);
  tandem_sync_session_start (session);
}

static void
on_new_transport (TandemServer    *server,
                  TandemTransport *transport,
                  gpointer         user_data)
{
  tandem_peer_add_transport (TANDEM_PEER (user_data), transport);
}

GPtrArray *
tandem_peer_get_sessions (TandemPeer *self)
{
  return self->sessions;
}

/**
 * tandem_peer_is_synced:
 * @reason: (out) (optional): what is still missing
 *
 * Returns: whether every member connected now has said it has everything
 *   this peer has, and no connection is still half-way through its
 *   handshake
 */
gboolean
tandem_peer_is_synced (TandemPeer  *self,
                       const char **reason)
{
  for (guint i = 0; i < self->targets->len; i++)
    {
      Target *target = g_ptr_array_index (self->targets, i);

      /* a first try still under way; one that failed before (the peer
       * may be gone for good) holds nobody up */
      if (target->connecting != NULL && !target->failed)
        {
          if (reason)
            *reason = "still connecting";
          return FALSE;
        }
    }
  for (guint i = 0; i < self->sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (self->sessions, i);

      if (!tandem_sync_session_is_open (session))
        {
          /* a session we dialled is a member on its way; one that
           * dialled us may be a stranger, who must not hold us up */
          Target *target = find_target_for_session (self, session);

          if (target != NULL && !target->failed)
            {
              if (reason)
                *reason = "a connection is still in its handshake";
              return FALSE;
            }
          continue;
        }
      if (!tandem_sync_session_is_synced (session, reason))
        return FALSE;
    }
  return TRUE;
}

/* ---- dialling ---- */

static void
connected (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Target *target = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemTransport) transport = tandem_websocket_transport_connect_finish (result, &error);
  TandemPeer *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the target is gone */
  self = target->peer;
  g_clear_object (&target->connecting);
  if (transport == NULL)
    {
      g_debug ("cannot connect to %s:%u: %s", target->host, target->port, error->message);
      target->failed = TRUE;
      schedule_dial (self, target);
      changed (self);
      return;
    }
  tandem_peer_add_transport (self, transport);
  target->session = g_ptr_array_index (self->sessions, self->sessions->len - 1);
  changed (self);
}

static gboolean
is_connected_to (TandemPeer *self,
                 guint64     peer_id)
{
  for (guint i = 0; peer_id != 0 && i < self->sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (self->sessions, i);

      if (tandem_sync_session_get_remote_peer (session) == peer_id &&
          tandem_sync_session_is_open (session))
        return TRUE;
    }
  return FALSE;
}

static gboolean
dial (gpointer data)
{
  Target *target = data;
  TandemPeer *self = target->peer;
  g_autofree char *pinned = NULL;

  target->timer_id = 0;
  if (target->session != NULL || target->connecting != NULL)
    return G_SOURCE_REMOVE;
  if (is_connected_to (self, target->peer_id))
    {
      /* it is connected another way (it dialled us, or another of its
       * addresses); look again in a while, in case that link drops */
      target->timer_id = g_timeout_add_seconds (5, dial, target);
      return G_SOURCE_REMOVE;
    }
  /* a member we know must show its pinned certificate */
  for (guint i = 0; target->peer_id != 0 && pinned == NULL && i < self->notebooks->len; i++)
    {
      TandemPeerNotebook *notebook = g_ptr_array_index (self->notebooks, i);
      g_autoptr(TandemStoreMember) member = tandem_store_dup_member (self->store, notebook->id,
                                                                     target->peer_id, NULL);

      if (member != NULL)
        pinned = g_strdup (member->cert_fingerprint);
    }
  target->attempt++;
  target->connecting = g_cancellable_new ();
  tandem_websocket_transport_connect_async (target->host, target->port, self->certificate, pinned,
                                            target->connecting, connected, target);
  return G_SOURCE_REMOVE;
}

/* The next try: 250 ms doubling to 30 s, each ±25% so that peers that lost
 * each other at once do not all come back in step. */
static void
schedule_dial (TandemPeer *self,
               Target     *target)
{
  guint delay = BACKOFF_MIN_MS;

  if (self->server == NULL || target->timer_id != 0)
    return;
  for (guint i = 1; i < target->attempt && delay < BACKOFF_MAX_MS; i++)
    delay *= 2;
  delay = MIN (delay, BACKOFF_MAX_MS);
  delay = (guint) g_random_int_range ((gint) (delay * 3 / 4), (gint) (delay * 5 / 4) + 1);
  target->timer_id = g_timeout_add (target->attempt == 0 ? 0 : delay, dial, target);
}

static Target *
add_target (TandemPeer *self,
            const char *host,
            guint16     port,
            guint64     peer_id,
            const char *service,
            gboolean    manual)
{
  Target *target;

  for (guint i = 0; i < self->targets->len; i++)
    {
      target = g_ptr_array_index (self->targets, i);
      if (g_str_equal (target->host, host) && target->port == port)
        {
          target->manual |= manual;
          return target;
        }
    }
  target = g_new0 (Target, 1);
  target->peer = self;
  target->host = g_strdup (host);
  target->port = port;
  target->peer_id = peer_id;
  target->service = g_strdup (service);
  target->manual = manual;
  g_ptr_array_add (self->targets, target);
  schedule_dial (self, target);
  return target;
}

/**
 * tandem_peer_connect_to:
 *
 * Dials @host:@port now and whenever the link is lost.
 */
void
tandem_peer_connect_to (TandemPeer *self,
                        const char *host,
                        guint16     port)
{
  g_return_if_fail (TANDEM_IS_PEER (self));
  add_target (self, host, port, 0, NULL, TRUE);
}

/* ---- discovery ---- */

static char **
discovery_txt (TandemPeer *self)
{
  g_autofree char *peer = tandem_peer_id_to_string (self->id);
  GPtrArray *txt = g_ptr_array_new ();
  GString *tags = g_string_new ("nb=");

  g_ptr_array_add (txt, g_strdup_printf ("v=%d", 1));
  g_ptr_array_add (txt, g_strdup_printf ("peer=%s", peer));
  /* one DNS-SD string holds 255 bytes: 14 tags */
  for (guint i = 0; i < self->notebooks->len && tags->len + 17 <= 255; i++)
    {
      TandemPeerNotebook *notebook = g_ptr_array_index (self->notebooks, i);
      g_autofree char *tag = tandem_membership_tag (notebook->key, peer);

      g_string_append_printf (tags, "%s%s", i ? "," : "", tag);
    }
  g_ptr_array_add (txt, g_string_free (tags, FALSE));
  g_ptr_array_add (txt, NULL);
  return (char **) g_ptr_array_free (txt, FALSE);
}

static void
update_discovery_txt (TandemPeer *self)
{
  g_auto(GStrv) txt = NULL;

  if (self->discovery == NULL)
    return;
  txt = discovery_txt (self);
  tandem_discovery_set_txt (self->discovery, (const char * const *) txt);
}

static void
on_service_found (TandemDiscovery *discovery,
                  const char      *service,
                  const char      *host,
                  guint            port,
                  GStrv            txt,
                  gpointer         user_data)
{
  TandemPeer *self = user_data;
  const char *peer_hex = NULL, *tags = NULL;
  guint64 peer = 0;
  gboolean ours = FALSE;

  for (guint i = 0; txt && txt[i]; i++)
    if (g_str_has_prefix (txt[i], "peer="))
      peer_hex = txt[i] + 5;
    else if (g_str_has_prefix (txt[i], "nb="))
      tags = txt[i] + 3;
  if (!tandem_peer_id_from_string (peer_hex, &peer) || peer == self->id || tags == NULL ||
      port == 0 || port > G_MAXUINT16)
    return;
  for (guint i = 0; i < self->notebooks->len && !ours; i++)
    {
      TandemPeerNotebook *notebook = g_ptr_array_index (self->notebooks, i);
      g_autofree char *tag = tandem_membership_tag (notebook->key, peer_hex);
      g_autofree char *prev = notebook->previous_key ? tandem_membership_tag (notebook->previous_key, peer_hex)
                                                     : NULL;

      ours = strstr (tags, tag) != NULL || (prev != NULL && strstr (tags, prev) != NULL);
    }
  if (ours)
    add_target (self, host, (guint16) port, peer, service, FALSE);
}

static void
on_service_lost (TandemDiscovery *discovery,
                 const char      *service,
                 gpointer         user_data)
{
  TandemPeer *self = user_data;

  for (guint i = self->targets->len; i-- > 0;)
    {
      Target *target = g_ptr_array_index (self->targets, i);

      if (target->manual || g_strcmp0 (target->service, service) != 0)
        continue;
      /* its session, if any, ends by itself when the peer goes */
      g_ptr_array_remove_index (self->targets, i);
    }
}

/* ---- life ---- */

/**
 * tandem_peer_new:
 *
 * Returns: (transfer full): the replica of everything in @store, not yet
 *   on the network
 */
TandemPeer *
tandem_peer_new (TandemStore  *store,
                 GError      **error)
{
  g_autoptr(TandemPeer) self = g_object_new (TANDEM_TYPE_PEER, NULL);
  g_autofree char *cert = tandem_store_dup_certificate_pem (store);
  g_autofree char *key = tandem_store_dup_private_key_pem (store);
  g_autofree char *both = g_strconcat (cert, "\n", key, NULL);

  self->store = g_object_ref (store);
  self->id = tandem_store_get_peer_id (store);
  self->name = tandem_store_dup_display_name (store);
  self->colour = tandem_store_dup_colour (store);
  self->fingerprint = tandem_store_dup_certificate_fingerprint (store);
  self->certificate = g_tls_certificate_new_from_pem (both, -1, error);
  if (self->certificate == NULL)
    {
      g_prefix_error (error, "The identity certificate of %s cannot be used: ",
                      tandem_store_get_path (store));
      return NULL;
    }
  if (!load_notebooks (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * tandem_peer_start:
 * @port: 0 for any free port
 * @discovery: publish and browse with Avahi
 *
 * Listens, and starts dialling. Without an Avahi daemon the peer says so
 * once (a "notice") and goes on: peers can still be added by address.
 */
gboolean
tandem_peer_start (TandemPeer  *self,
                   guint16      port,
                   gboolean     discovery,
                   GError     **error)
{
  g_autoptr(GPtrArray) addresses = NULL;

  g_return_val_if_fail (TANDEM_IS_PEER (self), FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);

  self->server = tandem_server_new (self->certificate, error);
  if (self->server == NULL)
    return FALSE;
  g_signal_connect_object (self->server, "new-transport", G_CALLBACK (on_new_transport), self, 0);
  if (!tandem_server_listen (self->server, port, error))
    {
      g_clear_object (&self->server);
      return FALSE;
    }

  if (discovery)
    {
      g_auto(GStrv) txt = discovery_txt (self);
      g_autofree char *peer = tandem_peer_id_to_string (self->id);
      g_autofree char *instance = g_strdup_printf ("Tandem %s", peer);
      g_autoptr(GError) local_error = NULL;

      self->discovery = tandem_discovery_new ();
      g_signal_connect_object (self->discovery, "service-found", G_CALLBACK (on_service_found), self, 0);
      g_signal_connect_object (self->discovery, "service-lost", G_CALLBACK (on_service_lost), self, 0);
      if (!tandem_discovery_start (self->discovery, instance, tandem_server_get_port (self->server),
                                   (const char * const *) txt, &local_error))
        {
          g_autofree char *message = g_strdup_printf ("Peers on the network cannot be found (%s); "
                                                      "add them by host:port", local_error->message);

          g_signal_emit (self, signals[NOTICE], 0, "notice", message);
        }
    }

  /* where members were last seen */
  addresses = tandem_store_list_addresses (self->store, NULL);
  for (guint i = 0; addresses && i < addresses->len; i++)
    {
      TandemStoreAddress *address = g_ptr_array_index (addresses, i);

      add_target (self, address->host, address->port, address->peer_id, NULL, FALSE);
    }
  for (guint i = 0; i < self->targets->len; i++)
    schedule_dial (self, g_ptr_array_index (self->targets, i));
  return TRUE;
}

/**
 * tandem_peer_stop:
 *
 * Leaves the network: closes every session, stops listening and
 * withdraws from discovery.
 */
void
tandem_peer_stop (TandemPeer *self)
{
  g_clear_handle_id (&self->presence_id, g_source_remove);
  /* nothing taken from others is left unsaved */
  settle_all (self);
  while (self->leaving->len > 0)
    {
      DeferredLeave *leave = g_ptr_array_steal_index (self->leaving, self->leaving->len - 1);

      g_source_remove (leave->source_id);   /* frees it */
    }
  g_ptr_array_set_size (self->targets, 0);
  while (self->sessions->len > 0)
    {
      TandemSyncSession *session = g_ptr_array_index (self->sessions, self->sessions->len - 1);

      g_signal_handlers_disconnect_by_data (session, self);
      tandem_sync_session_close (session, "the peer is leaving");
      g_ptr_array_remove_index (self->sessions, self->sessions->len - 1);
    }
  if (self->discovery != NULL)
    tandem_discovery_stop (self->discovery);
  g_clear_object (&self->discovery);
  g_clear_object (&self->server);
}

TandemStore *
tandem_peer_get_store (TandemPeer *self)
{
  return self->store;
}

guint64
tandem_peer_get_id (TandemPeer *self)
{
  return self->id;
}

guint16
tandem_peer_get_port (TandemPeer *self)
{
  return self->server ? tandem_server_get_port (self->server) : 0;
}

const char *
tandem_peer_get_fingerprint (TandemPeer *self)
{
  return self->fingerprint;
}

/* ---- what the user does ---- */

static void
offer_notebook (TandemPeer *self,
                const char *notebook_id)
{
  update_discovery_txt (self);
  for (guint i = 0; i < self->sessions->len; i++)
    tandem_sync_session_offer_notebook (g_ptr_array_index (self->sessions, i), notebook_id);
}

/**
 * tandem_peer_create_notebook:
 *
 * Returns: (transfer full): the new shared notebook's id
 */
char *
tandem_peer_create_notebook (TandemPeer  *self,
                             const char  *name,
                             GError     **error)
{
  g_autofree char *id = tandem_store_create_notebook (self->store, name, error);

  if (id == NULL || !load_notebooks (self, error))
    return NULL;
  offer_notebook (self, id);
  return g_steal_pointer (&id);
}

/* Our addresses for an invite: the LAN ones first, loopback last. */
static GPtrArray *
local_addresses (TandemPeer *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSocket) probe = NULL;
  guint16 port = tandem_peer_get_port (self);
  g_autofree char *hostname_addr = NULL;

  /* the address a route to the LAN leaves from, without sending anything */
  probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  if (probe != NULL)
    {
      g_autoptr(GInetAddress) lan = g_inet_address_new_from_string ("192.0.2.1");
      g_autoptr(GSocketAddress) remote = g_inet_socket_address_new (lan, 9);

      if (g_socket_connect (probe, remote, NULL, NULL))
        {
          g_autoptr(GSocketAddress) local = g_socket_get_local_address (probe, NULL);

          if (local != NULL)
            {
              hostname_addr = g_inet_address_to_string (
                g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
              g_ptr_array_add (out, g_strdup_printf ("%s:%u", hostname_addr, port));
            }
        }
    }
  g_ptr_array_add (out, g_strdup_printf ("127.0.0.1:%u", port));
  return out;
}

/**
 * tandem_peer_dup_invite:
 *
 * Returns: (transfer full): the notebook's invite code, with the addresses
 *   this peer can be reached at
 */
char *
tandem_peer_dup_invite (TandemPeer  *self,
                        const char  *notebook_id,
                        GError     **error)
{
  TandemPeerNotebook *notebook = _tandem_peer_find_notebook (self, notebook_id);
  g_autoptr(GPtrArray) addresses = NULL;

  if (notebook == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no shared notebook has the id %s", notebook_id);
      return NULL;
    }
  addresses = self->server ? local_addresses (self) : g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (addresses, NULL);
  return tandem_invite_encode (notebook->id, notebook->key, (const char * const *) addresses->pdata,
                               error);
}

/**
 * tandem_peer_parse_address:
 * @address: "host:port", or "[v6 address]:port"
 * @host: (out) (transfer full): the host, without brackets
 * @port: (out): the port, 1 to 65535
 *
 * Returns: whether @address has that form
 */
gboolean
tandem_peer_parse_address (const char  *address,
                           char       **host,
                           guint16     *port)
{
  const char *colon = strrchr (address, ':');
  guint64 value;

  *host = NULL;
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, G_MAXUINT16, &value, NULL))
    return FALSE;
  if (address[0] == '[' && colon > address + 1 && colon[-1] == ']')
    *host = g_strndup (address + 1, colon - address - 2);
  else
    *host = g_strndup (address, colon - address);
  *port = (guint16) value;
  if (**host == '\0')
    {
      g_clear_pointer (host, g_free);
      return FALSE;
    }
  return TRUE;
}

/**
 * tandem_peer_join:
 *
 * Joins the notebook an invite names and dials the inviter.
 *
 * Returns: (transfer full): the notebook's id
 */
char *
tandem_peer_join (TandemPeer  *self,
                  const char  *code,
                  GError     **error)
{
  g_autoptr(TandemInvite) invite = tandem_invite_decode (code, error);

  if (invite == NULL)
    return NULL;
  if (_tandem_peer_find_notebook (self, invite->notebook_id) == NULL)
    {
      if (!tandem_store_add_notebook (self->store, invite->notebook_id, "", invite->key, error) ||
          !load_notebooks (self, error))
        return NULL;
      offer_notebook (self, invite->notebook_id);
    }
  for (guint i = 0; i < invite->addresses->len; i++)
    {
      g_autofree char *host = NULL;
      guint16 port;

      if (tandem_peer_parse_address (g_ptr_array_index (invite->addresses, i), &host, &port))
        add_target (self, host, port, 0, NULL, TRUE);
    }
  return g_strdup (invite->notebook_id);
}

/**
 * tandem_peer_remove_member:
 *
 * Removes a member and rotates the notebook's key, so that what it knew
 * opens nothing any more; the new key goes to the other members.
 */
gboolean
tandem_peer_remove_member (TandemPeer  *self,
                           const char  *notebook_id,
                           guint64      peer_id,
                           GError     **error)
{
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GPtrArray) removed = g_ptr_array_new ();

  if (_tandem_peer_find_notebook (self, notebook_id) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no shared notebook has the id %s",
                   notebook_id);
      return FALSE;
    }
  if (!tandem_store_remove_member (self->store, notebook_id, peer_id, error))
    return FALSE;
  key = tandem_membership_new_key ();
  g_ptr_array_add (removed, &peer_id);
  return _tandem_peer_rekey_notebook (self, NULL, notebook_id, key, removed, error);
}

gboolean
tandem_peer_set_field_policy (TandemPeer  *self,
                              const char  *notebook_id,
                              const char  *field,
                              const char  *policy,
                              GError     **error)
{
  g_autoptr(TandemStoreNotebook) notebook = tandem_store_dup_notebook (self->store, notebook_id, error);
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  GHashTableIter iter;
  const char *note_id;
  TandemSavedNote *saved;

  if (notebook == NULL)
    return FALSE;
  if (!g_str_equal (policy, "lww") && !g_str_equal (policy, "manual") && !g_str_equal (policy, "set"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a field's policy is \"lww\", \"manual\" or \"set\", not \"%s\"", policy);
      return FALSE;
    }
  root = json_from_string (notebook->field_policies, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    root = json_node_init_object (json_node_alloc (), json_object_new ());
  json_object_set_string_member (json_node_get_object (root), field, policy);
  json = tandem_json_to_string (root, NULL);
  if (!tandem_store_set_field_policies (self->store, notebook_id, json, error))
    return FALSE;
  g_hash_table_iter_init (&iter, self->notes);
  while (g_hash_table_iter_next (&iter, (gpointer *) &note_id, (gpointer *) &saved))
    if (g_str_equal (g_hash_table_lookup (self->note_notebook, note_id), notebook_id))
      {
        apply_policies (self, tandem_saved_note_get_note (saved), notebook_id);
        check_conflicts (self, saved);
      }
  return TRUE;
}

/**
 * tandem_peer_create_note:
 *
 * Returns: (transfer none): a new note, already announced to the members
 */
TandemSavedNote *
tandem_peer_create_note (TandemPeer  *self,
                         const char  *notebook_id,
                         GError     **error)
{
  TandemSavedNote *saved = tandem_saved_note_create (self->store, notebook_id, self->id, error);

  if (saved == NULL)
    return NULL;
  keep_note (self, saved, notebook_id);
  push_note (self, saved, NULL);
  g_signal_emit (self, signals[NOTE_SAVED], 0, tandem_saved_note_get_id (saved));
  return saved;
}

/**
 * tandem_peer_get_note:
 *
 * Returns: (transfer none): the note, opened if it was not
 */
TandemSavedNote *
tandem_peer_get_note (TandemPeer  *self,
                      const char  *note_id,
                      GError     **error)
{
  const char *notebook_id = g_hash_table_lookup (self->note_notebook, note_id);

  if (notebook_id == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no note has the id %s", note_id);
      return NULL;
    }
  return _tandem_peer_open_note (self, notebook_id, note_id, FALSE, error);
}

const char *
tandem_peer_get_note_notebook (TandemPeer *self,
                               const char *note_id)
{
  return g_hash_table_lookup (self->note_notebook, note_id);
}

/**
 * tandem_peer_commit:
 *
 * Saves local edits of @saved, then sends them to the members connected.
 * Nothing leaves this peer before it is saved.
 */
gboolean
tandem_peer_commit (TandemPeer       *self,
                    TandemSavedNote  *saved,
                    GError          **error)
{
  if (!tandem_saved_note_commit (saved, error))
    return FALSE;
  {
    /* what it took from others is saved with it */
    Settle *settle = g_hash_table_lookup (self->settling, tandem_saved_note_get_id (saved));

    if (settle != NULL)
      g_ptr_array_set_size (settle->uncommitted, 0);
  }
  push_note (self, saved, NULL);
  check_conflicts (self, saved);
  g_signal_emit (self, signals[NOTE_SAVED], 0, tandem_saved_note_get_id (saved));
  changed (self);
  return TRUE;
}

static gboolean
send_presence (gpointer data)
{
  TandemPeer *self = data;
  const char *note_id = self->presence_note;
  const char *notebook_id = note_id ? g_hash_table_lookup (self->note_notebook, note_id) : NULL;
  TandemSavedNote *saved = note_id ? g_hash_table_lookup (self->notes, note_id) : NULL;

  self->presence_id = 0;
  for (guint i = 0; i < self->sessions->len; i++)
    tandem_sync_session_send_presence (g_ptr_array_index (self->sessions, i), self->presence_state,
                                       notebook_id, saved, self->presence_pos, self->presence_anchor);
  return G_SOURCE_REMOVE;
}

/**
 * tandem_peer_set_presence:
 * @state: "online" or "idle"
 * @note_id: (nullable): the note open here
 * @pos: the cursor, or -1
 * @anchor: the other end of the selection, or -1
 */
void
tandem_peer_set_presence (TandemPeer *self,
                          const char *state,
                          const char *note_id,
                          gint64      pos,
                          gint64      anchor)
{
  g_free (self->presence_state);
  self->presence_state = g_strdup (state);
  g_free (self->presence_note);
  self->presence_note = g_strdup (note_id);
  self->presence_pos = pos;
  self->presence_anchor = anchor;
  /* a burst of cursor moves (typing) goes out as its last one */
  if (self->presence_id == 0)
    self->presence_id = g_timeout_add (PRESENCE_MS, send_presence, self);
}
