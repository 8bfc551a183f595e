/* tandem-note.c: one note, its history, text and fields
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A note is a causal log of events (TandemEventGraph for the shape,
 * TandemOpLog for what each event did), the text those events make, and the
 * field registers. Local edits and remote events whose parents are the
 * current version apply directly; remote events concurrent with it go
 * through tandem_text_merge(). Events whose parents are missing wait in the
 * causal buffer.
 */
#include "tandem-note-private.h"

#include "tandem-engine-error.h"
#include "tandem-text-merge.h"

#include <string.h>

G_DEFINE_FINAL_TYPE (TandemNote, tandem_note, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PEER_ID,
  N_PROPS
};

enum {
  TEXT_INSERTED,
  TEXT_DELETED,
  FIELD_CHANGED,
  EVENT_REJECTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
tandem_note_finalize (GObject *object)
{
  TandemNote *self = (TandemNote *) object;

  tandem_event_graph_free (self->graph);
  tandem_op_log_free (self->ops);
  tandem_rope_free (self->doc);
  tandem_field_table_free (self->fields);
  g_hash_table_unref (self->field_events);
  g_hash_table_unref (self->policies);
  g_hash_table_unref (self->pending_ids);
  g_ptr_array_unref (self->pending);
  tandem_undo_stack_free (self->undo_stack);
  tandem_undo_stack_free (self->redo_stack);

  G_OBJECT_CLASS (tandem_note_parent_class)->finalize (object);
}

static void
tandem_note_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TandemNote *self = TANDEM_NOTE (object);

  switch (prop_id)
    {
    case PROP_PEER_ID:
      g_value_set_uint64 (value, self->peer_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_note_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TandemNote *self = TANDEM_NOTE (object);

  switch (prop_id)
    {
    case PROP_PEER_ID:
      self->peer_id = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_note_class_init (TandemNoteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tandem_note_finalize;
  object_class->get_property = tandem_note_get_property;
  object_class->set_property = tandem_note_set_property;

  /**
   * TandemNote:peer-id:
   *
   * The id under which this replica makes its events.
   */
  properties[PROP_PEER_ID] =
    g_param_spec_uint64 ("peer-id", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TandemNote::text-inserted:
   * @pos: code point offset
   * @text: the UTF-8 inserted
   * @len: its length in code points
   *
   * Text changed by something other than a local tandem_note_insert():
   * another peer, or undo. An editor mirrors it.
   */
  signals[TEXT_INSERTED] =
    g_signal_new ("text-inserted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_UINT);

  /**
   * TandemNote::text-deleted:
   * @pos: code point offset
   * @len: code points removed
   *
   * Like #TandemNote::text-inserted, for deletions.
   */
  signals[TEXT_DELETED] =
    g_signal_new ("text-deleted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  /**
   * TandemNote::field-changed:
   * @field: the field's name
   *
   * A field was written, here or by another peer.
   */
  signals[FIELD_CHANGED] =
    g_signal_new ("field-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * TandemNote::event-rejected:
   * @event: the event
   * @error: why
   *
   * An event that waited in the causal buffer turned out invalid when its
   * parents arrived, and was dropped. Its sender can be told why.
   */
  signals[EVENT_REJECTED] =
    g_signal_new ("event-rejected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, TANDEM_TYPE_EVENT, G_TYPE_ERROR);
}

/* The causal buffer's index: a run waiting there is known by its peer,
 * first seq and length. */
static guint
pending_id_hash (gconstpointer data)
{
  const TandemEvent *e = data;

  return g_int64_hash (&e->peer) ^ g_int64_hash (&e->seq) ^ (e->len * 2654435761u);
}

static gboolean
pending_id_equal (gconstpointer a,
                  gconstpointer b)
{
  const TandemEvent *x = a, *y = b;

  return x->peer == y->peer && x->seq == y->seq && x->len == y->len;
}

static void
tandem_note_init (TandemNote *self)
{
  self->graph = tandem_event_graph_new ();
  self->ops = tandem_op_log_new ();
  self->doc = tandem_rope_new ();
  self->fields = tandem_field_table_new ();
  self->field_events = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) tandem_event_unref);
  self->policies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  self->pending_ids = g_hash_table_new (pending_id_hash, pending_id_equal);
  self->undo_stack = tandem_undo_stack_new (UNDO_DEPTH);
  self->redo_stack = tandem_undo_stack_new (UNDO_DEPTH);
}

/**
 * tandem_note_new:
 * @peer_id: this replica's id; never reuse one with a restored history
 *
 * Returns: (transfer full): an empty note
 */
TandemNote *
tandem_note_new (guint64 peer_id)
{
  return g_object_new (TANDEM_TYPE_NOTE, "peer-id", peer_id, NULL);
}

guint64
tandem_note_get_peer_id (TandemNote *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), 0);
  return self->peer_id;
}

char *
tandem_note_dup_text (TandemNote *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  return tandem_rope_dup_utf8 (self->doc, 0, tandem_rope_get_length (self->doc));
}

guint
tandem_note_get_length (TandemNote *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), 0);
  return tandem_rope_get_length (self->doc);
}

gunichar
tandem_note_get_char (TandemNote *self,
                      guint       pos)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), 0);
  g_return_val_if_fail (pos < tandem_rope_get_length (self->doc), 0);
  return tandem_rope_get_char (self->doc, pos);
}

const TandemVersionVector *
tandem_note_get_version (TandemNote *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  return tandem_event_graph_get_version (self->graph);
}

guint
tandem_note_get_n_events (TandemNote *self)
{
  return tandem_event_graph_get_length (self->graph);
}

guint
tandem_note_get_n_runs (TandemNote *self)
{
  return tandem_op_log_get_n_runs (self->ops);
}

gsize
tandem_note_get_memory_size (TandemNote *self)
{
  return sizeof *self +
         tandem_event_graph_get_memory_size (self->graph) +
         tandem_op_log_get_memory_size (self->ops) +
         tandem_rope_get_memory_size (self->doc);
}

/* ---- applying events -------------------------------------------------- */


void
_tandem_note_apply_to_doc (TandemOpKind  kind,
              guint32       pos,
              guint32       len,
              const char   *text,
              gsize         n_bytes,
              gpointer      user_data)
{
  ApplyData *data = user_data;
  TandemNote *self = data->note;

  if (kind == TANDEM_OP_INSERT)
    {
      tandem_rope_insert (self->doc, pos, text, len);
      if (data->notify)
        {
          g_autofree char *copy = g_strndup (text, n_bytes);

          g_signal_emit (self, signals[TEXT_INSERTED], 0, pos, copy, len);
        }
    }
  else
    {
      tandem_rope_delete (self->doc, pos, len);
      if (data->notify)
        g_signal_emit (self, signals[TEXT_DELETED], 0, pos, len);
    }
}

void
_tandem_note_emit_inserted (TandemNote *self,
                            guint       pos,
                            const char *text,
                            guint       len)
{
  g_signal_emit (self, signals[TEXT_INSERTED], 0, pos, text, len);
}

void
_tandem_note_emit_deleted (TandemNote *self,
                           guint       pos,
                           guint       len)
{
  g_signal_emit (self, signals[TEXT_DELETED], 0, pos, len);
}

gboolean
_tandem_note_parents_to_lvs (TandemNote        *self,
                const TandemEvent *event,
                guint32           *lvs)
{
  for (guint i = 0; i < event->n_parents; i++)
    {
      lvs[i] = tandem_event_graph_find (self->graph, &event->parents[i]);
      if (lvs[i] == TANDEM_LV_NONE)
        return FALSE;
    }
  return TRUE;
}

gboolean
_tandem_note_parents_known (TandemNote        *self,
               const TandemEvent *event)
{
  const TandemVersionVector *vv = tandem_event_graph_get_version (self->graph);

  for (guint i = 0; i < event->n_parents; i++)
    if (!tandem_version_vector_contains (vv, &event->parents[i]))
      return FALSE;
  return tandem_version_vector_get (vv, event->peer) >= event->seq;
}

/* A peer makes each event on a version holding its previous one; otherwise
 * version vectors would stop describing sets of events. */
gboolean
_tandem_note_check_own_chain (TandemNote        *self,
                 const TandemEvent *event,
                 const guint32     *lvs,
                 GError           **error)
{
  TandemEventId previous = { event->peer, event->seq - 1 };
  guint32 previous_lv;

  if (event->seq == 0)
    return TRUE;
  for (guint i = 0; i < event->n_parents; i++)
    if (event->parents[i].peer == event->peer && event->parents[i].seq == event->seq - 1)
      return TRUE;
  previous_lv = tandem_event_graph_find (self->graph, &previous);
  for (guint i = 0; i < event->n_parents; i++)
    if (lvs[i] == previous_lv || tandem_event_graph_is_ancestor (self->graph, previous_lv, lvs[i]))
      return TRUE;
  g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
               "Event %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " was not made after its peer's "
               "previous event", event->peer, event->seq);
  return FALSE;
}

static gboolean
integrate_field (TandemNote     *self,
                 TandemEvent    *event,
                 const guint32  *lvs,
                 gboolean        fast,
                 GError        **error)
{
  g_autoptr(TandemVersionVector) clock = NULL;
  guint32 lv = tandem_event_graph_get_length (self->graph);
  const TandemVersionVector *vv = tandem_event_graph_get_version (self->graph);

  for (guint i = 0; i < event->n_observed; i++)
    if (!tandem_version_vector_contains (vv, &event->observed[i]))
      {
        g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD,
                     "Set remove %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " names an add it cannot have seen",
                     event->peer, event->seq);
        return FALSE;
      }

  clock = fast ? tandem_version_vector_copy (vv)
               : tandem_event_graph_version_at (self->graph, lvs, event->n_parents);
  tandem_version_vector_set (clock, event->peer, event->seq + 1);

  if (fast)
    {
      tandem_event_graph_add (self->graph, event->peer, event->seq, 1, lvs, event->n_parents);
      tandem_op_log_append (self->ops, TANDEM_OP_FIELD, 0, 1, NULL, 0,
                            tandem_rope_get_length (self->doc), FALSE);
    }
  else
    {
      g_autoptr(GArray) old = g_array_new (FALSE, FALSE, sizeof (guint32));
      const guint32 *frontier;
      guint n_frontier;
      ApplyData data = { self, TRUE };
      gboolean ok;

      frontier = tandem_event_graph_get_frontier (self->graph, &n_frontier);
      g_array_append_vals (old, frontier, n_frontier);
      tandem_event_graph_add (self->graph, event->peer, event->seq, 1, lvs, event->n_parents);
      tandem_op_log_append (self->ops, TANDEM_OP_FIELD, 0, 1, NULL, 0, 0, FALSE);
      /* learns the text length at the write's parents; emits nothing */
      ok = tandem_text_merge (self->graph, self->ops, (guint32 *) old->data, old->len, lv,
                              _tandem_note_apply_to_doc, &data, NULL, NULL);
      g_assert (ok);
    }

  g_hash_table_insert (self->field_events, GUINT_TO_POINTER (lv), tandem_event_ref (event));
  tandem_field_table_apply (self->fields, event, clock);
  self->lamport = MAX (self->lamport, event->lamport);
  g_signal_emit (self, signals[FIELD_CHANGED], 0, event->field);
  return TRUE;
}

static gboolean
check_position (TandemOpKind   kind,
                guint32        pos,
                guint32        len,
                guint32        length,
                GError       **error)
{
  gboolean ok;

  if (kind == TANDEM_OP_INSERT)
    ok = pos <= length;
  else if (kind == TANDEM_OP_DELETE_FORWARD)
    ok = (guint64) pos + len <= length;
  else
    ok = pos < length && (guint64) pos + 1 >= len;
  if (!ok)
    g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_POSITION,
                 "Position %u with %u code points is outside the text of %u", pos, len, length);
  return ok;
}

/* Adds a text run made on the current version (@lvs is the frontier):
 * nothing is concurrent, so it applies as it is. */
static gboolean
apply_on_frontier (TandemNote     *self,
                   TandemEvent    *event,
                   const guint32  *lvs,
                   gboolean        notify,
                   GError        **error)
{
  guint32 length = tandem_event_graph_get_length (self->graph);
  guint32 doc_length = tandem_rope_get_length (self->doc);
  gsize n_bytes = event->text ? strlen (event->text) : 0;
  ApplyData data = { self, notify };

  if (!check_position (event->kind, event->pos, event->len, doc_length, error))
    return FALSE;
  tandem_event_graph_add (self->graph, event->peer, event->seq, event->len, lvs, event->n_parents);
  tandem_op_log_append (self->ops, event->kind, event->pos, event->len, event->text, n_bytes,
                        doc_length, event->n_parents == 1 && length > 0 && lvs[0] == length - 1);
  if (event->kind == TANDEM_OP_INSERT)
    _tandem_note_apply_to_doc (TANDEM_OP_INSERT, event->pos, event->len, event->text, n_bytes, &data);
  else if (event->kind == TANDEM_OP_DELETE_FORWARD)
    _tandem_note_apply_to_doc (TANDEM_OP_DELETE_FORWARD, event->pos, event->len, NULL, 0, &data);
  else
    _tandem_note_apply_to_doc (TANDEM_OP_DELETE_FORWARD, event->pos + 1 - event->len, event->len, NULL, 0, &data);
  return TRUE;
}

/* Adds a validated event whose parents are all known. */
gboolean
_tandem_note_integrate (TandemNote   *self,
           TandemEvent  *event,
           gboolean      notify,
           GError      **error)
{
  guint32 stack_lvs[8];
  g_autofree guint32 *heap_lvs = NULL;
  guint32 *lvs = event->n_parents <= G_N_ELEMENTS (stack_lvs) ? stack_lvs
               : (heap_lvs = g_new (guint32, event->n_parents));
  guint32 length = tandem_event_graph_get_length (self->graph);
  gboolean fast;

  if (!_tandem_note_parents_to_lvs (self, event, lvs))
    g_assert_not_reached ();
  if (!_tandem_note_check_own_chain (self, event, lvs, error))
    return FALSE;

  fast = tandem_event_graph_frontier_equals (self->graph, lvs, event->n_parents);
  if (event->kind == TANDEM_OP_FIELD)
    return integrate_field (self, event, lvs, fast, error);
  if (fast)
    return apply_on_frontier (self, event, lvs, notify, error);

  {
    g_autoptr(GArray) old = g_array_new (FALSE, FALSE, sizeof (guint32));
    const guint32 *frontier;
    guint n_frontier;
    ApplyData data = { self, notify };

    frontier = tandem_event_graph_get_frontier (self->graph, &n_frontier);
    g_array_append_vals (old, frontier, n_frontier);
    tandem_event_graph_add (self->graph, event->peer, event->seq, event->len, lvs, event->n_parents);
    tandem_op_log_append (self->ops, event->kind, event->pos, event->len, event->text,
                          event->text ? strlen (event->text) : 0, 0,
                          event->n_parents == 1 && length > 0 && lvs[0] == length - 1);
    if (!tandem_text_merge (self->graph, self->ops, (guint32 *) old->data, old->len, length,
                            _tandem_note_apply_to_doc, &data, NULL, error))
      {
        tandem_event_graph_truncate (self->graph, length);
        tandem_op_log_truncate (self->ops, length);
        return FALSE;
      }
  }
  return TRUE;
}

static void
drain_pending (TandemNote *self)
{
  gboolean progress = TRUE;

  while (progress)
    {
      progress = FALSE;
      for (guint i = 0; i < self->pending->len;)
        {
          TandemEvent *event = g_ptr_array_index (self->pending, i);
          guint64 known = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), event->peer);
          g_autoptr(TandemEvent) ready = NULL;
          g_autoptr(GError) error = NULL;

          if (event->seq + event->len <= known)
            {
              _tandem_note_remove_pending (self, i);
              continue;
            }
          if (!_tandem_note_parents_known (self, event) && event->seq >= known)
            {
              i++;
              continue;
            }
          if (event->seq < known)
            {
              /* its unknown tail starts right after what we have */
              ready = tandem_event_slice (event, known - event->seq, event->seq + event->len - known);
            }
          else
            ready = tandem_event_ref (event);
          _tandem_note_remove_pending (self, i);
          progress = TRUE;
          if (!_tandem_note_integrate (self, ready, TRUE, &error))
            g_signal_emit (self, signals[EVENT_REJECTED], 0, ready, error);
        }
    }
}

gboolean
_tandem_note_is_pending (TandemNote        *self,
                         const TandemEvent *event)
{
  return g_hash_table_contains (self->pending_ids, event);
}

/* Holds @event in the causal buffer, unless a run with its id and length
 * waits there already. */
void
_tandem_note_add_pending (TandemNote  *self,
                          TandemEvent *event)
{
  if (_tandem_note_is_pending (self, event))
    return;
  g_ptr_array_add (self->pending, tandem_event_ref (event));
  g_hash_table_add (self->pending_ids, event);
}

void
_tandem_note_remove_pending (TandemNote *self,
                             guint       index)
{
  g_hash_table_remove (self->pending_ids, g_ptr_array_index (self->pending, index));
  g_ptr_array_remove_index (self->pending, index);
}

/**
 * tandem_note_receive:
 * @event: a run from another peer (or from this peer's own past)
 *
 * Integrates @event: a duplicate changes nothing, a run whose parents are
 * missing waits in the causal buffer, anything else is validated and
 * applied; events it was holding up follow. An invalid event changes
 * nothing and is reported in @error.
 *
 * Returns: %FALSE if @event was rejected
 */
gboolean
tandem_note_receive (TandemNote   *self,
                     TandemEvent  *event,
                     GError      **error)
{
  guint64 known;
  g_autoptr(TandemEvent) trimmed = NULL;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), FALSE);
  g_return_val_if_fail (event != NULL, FALSE);

  if (!tandem_event_validate (event, error))
    return FALSE;

  known = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), event->peer);
  if (event->seq + event->len <= known)
    return TRUE;

  if (event->seq > known || !_tandem_note_parents_known (self, event))
    {
      _tandem_note_add_pending (self, event);
      return TRUE;
    }

  if (event->seq < known)
    trimmed = tandem_event_slice (event, known - event->seq, event->seq + event->len - known);
  else
    trimmed = tandem_event_ref (event);
  if (!_tandem_note_integrate (self, trimmed, TRUE, error))
    return FALSE;
  drain_pending (self);
  return TRUE;
}

guint
tandem_note_get_n_pending (TandemNote *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), 0);
  return self->pending->len;
}

/**
 * tandem_note_dup_pending:
 *
 * Returns: (transfer container) (element-type TandemEvent): the runs
 *   waiting for their parents
 */
GPtrArray *
tandem_note_dup_pending (TandemNote *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  for (guint i = 0; i < self->pending->len; i++)
    g_ptr_array_add (out, tandem_event_ref (g_ptr_array_index (self->pending, i)));
  return out;
}

static TandemEventId *
frontier_ids (TandemNote *self,
              guint      *n)
{
  const guint32 *frontier = tandem_event_graph_get_frontier (self->graph, n);
  TandemEventId *ids = g_new (TandemEventId, MAX (*n, 1));

  for (guint i = 0; i < *n; i++)
    ids[i] = tandem_event_graph_get_id (self->graph, frontier[i]);
  return ids;
}

/**
 * tandem_note_dup_frontier:
 *
 * Returns: (transfer full) (element-type TandemEventId): the ids of the
 *   current version's heads
 */
GPtrArray *
tandem_note_dup_frontier (TandemNote *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  guint n;
  g_autofree TandemEventId *ids = frontier_ids (self, &n);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (out, g_memdup2 (&ids[i], sizeof (TandemEventId)));
  return out;
}

/**
 * tandem_note_dup_events_since:
 * @known: (nullable): what the other side has; %NULL for everything
 *
 * Returns: (transfer container) (element-type TandemEvent): the runs the
 *   other side lacks, in this peer's log order, which is causal
 */
GPtrArray *
tandem_note_dup_events_since (TandemNote                *self,
                              const TandemVersionVector *known)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  guint n_runs = tandem_op_log_get_n_runs (self->ops);

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);

  for (guint r = 0; r < n_runs; r++)
    {
      const TandemOpRun *run = tandem_op_log_get_run (self->ops, r);
      guint32 lv = run->lv;

      while (lv < run->lv + run->len)
        {
          TandemEventId id = tandem_event_graph_get_id (self->graph, lv);
          guint32 end = MIN (run->lv + run->len, tandem_event_graph_get_run_end (self->graph, lv));
          guint64 have = known ? tandem_version_vector_get (known, id.peer) : 0;
          guint32 start = lv;
          guint32 run_start;
          guint n_parents;
          const guint32 *parents;
          g_autofree TandemEventId *parent_ids = NULL;
          TandemEvent *event;
          guint32 offset, pos;
          g_autofree char *text = NULL;

          if (have > id.seq)
            start = (guint32) MIN ((guint64) end, lv + (have - id.seq));
          if (start >= end)
            {
              lv = end;
              continue;
            }

          if (run->kind == TANDEM_OP_FIELD)
            {
              g_ptr_array_add (out, tandem_event_ref (g_hash_table_lookup (self->field_events,
                                                                           GUINT_TO_POINTER (start))));
              lv = end;
              continue;
            }

          parents = tandem_event_graph_get_parents (self->graph, start, &n_parents, &run_start);
          if (run_start != start)
            {
              parent_ids = g_new (TandemEventId, 1);
              parent_ids[0] = tandem_event_graph_get_id (self->graph, start - 1);
              n_parents = 1;
            }
          else
            {
              parent_ids = g_new (TandemEventId, MAX (n_parents, 1));
              for (guint i = 0; i < n_parents; i++)
                parent_ids[i] = tandem_event_graph_get_id (self->graph, parents[i]);
            }

          offset = start - run->lv;
          pos = run->pos;
          if (run->kind == TANDEM_OP_INSERT)
            {
              gsize n_bytes;
              const char *t = tandem_op_log_get_text (self->ops, run, offset, end - start, &n_bytes);

              text = g_strndup (t, n_bytes);
              pos += offset;
            }
          else if (run->kind == TANDEM_OP_DELETE_BACKWARD)
            pos -= offset;

          id = tandem_event_graph_get_id (self->graph, start);
          event = tandem_event_new_text (id.peer, id.seq, parent_ids, n_parents,
                                         run->kind, pos, end - start, text);
          g_ptr_array_add (out, event);
          lv = end;
        }
    }
  return out;
}

/**
 * tandem_note_dup_authors_since:
 * @from: the first event to look at, in this peer's log order
 *
 * Returns: (transfer full) (element-type guint64): the peers whose events
 *   came from @from on, each once, in the order they came
 */
GArray *
tandem_note_dup_authors_since (TandemNote *self,
                               guint       from)
{
  GArray *peers = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint32 end = tandem_event_graph_get_length (self->graph);

  g_return_val_if_fail (TANDEM_IS_NOTE (self), peers);
  for (guint32 lv = from; lv < end; lv = tandem_event_graph_get_run_end (self->graph, lv))
    {
      guint64 peer = tandem_event_graph_get_id (self->graph, lv).peer;
      gboolean seen = FALSE;

      for (guint k = 0; k < peers->len && !seen; k++)
        seen = g_array_index (peers, guint64, k) == peer;
      if (!seen)
        g_array_append_val (peers, peer);
    }
  return peers;
}

/**
 * tandem_note_dup_text_at:
 * @n_events: a version, as the number of events of this peer's log it
 *   holds; the log is in causal order, so any such prefix is a version
 *
 * Rebuilds the text as it was at a past version, by replaying that part
 * of the history in a fresh note.
 *
 * Returns: (transfer full) (nullable): the text, or %NULL when @n_events is
 *   more than the note has
 */
char *
tandem_note_dup_text_at (TandemNote *self,
                         guint       n_events)
{
  g_autoptr(TandemNote) past = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) prefix = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  guint taken = 0;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  if (n_events > tandem_event_graph_get_length (self->graph))
    return NULL;

  events = tandem_note_dup_events_since (self, NULL);
  for (guint i = 0; i < events->len && taken < n_events; i++)
    {
      TandemEvent *e = g_ptr_array_index (events, i);
      guint32 n = MIN (e->len, n_events - taken);

      g_ptr_array_add (prefix, n == e->len ? tandem_event_ref (e) : tandem_event_slice (e, 0, n));
      taken += n;
    }
  past = tandem_note_new (self->peer_id);
  if (!tandem_note_receive_many (past, prefix, NULL))
    return NULL;
  return tandem_note_dup_text (past);
}

/**
 * tandem_note_dup_text_by_replay:
 *
 * Rebuilds the text from the log alone in a fresh note; tests compare it
 * with the incrementally merged text.
 *
 * Returns: (transfer full): the text
 */
char *
tandem_note_dup_text_by_replay (TandemNote *self)
{
  g_autoptr(TandemNote) fresh = tandem_note_new (self->peer_id);
  g_autoptr(GPtrArray) events = tandem_note_dup_events_since (self, NULL);

  for (guint i = 0; i < events->len; i++)
    if (!tandem_note_receive (fresh, g_ptr_array_index (events, i), NULL))
      return NULL;
  return tandem_note_dup_text (fresh);
}

/* ---- local edits -------------------------------------------------------- */

/* Makes, applies and records a local text run. Its parents are the
 * frontier, so it skips the lookups and checks a remote event needs. */
TandemEvent *
_tandem_note_local_text (TandemNote   *self,
            TandemOpKind  kind,
            guint32       pos,
            guint32       len,
            const char   *text,
            const char   *deleted)
{
  guint n_parents;
  const guint32 *frontier = tandem_event_graph_get_frontier (self->graph, &n_parents);
  guint32 stack_lvs[4];
  TandemEventId stack_ids[4];
  g_autofree guint32 *heap_lvs = NULL;
  g_autofree TandemEventId *heap_ids = NULL;
  guint32 *lvs = stack_lvs;
  TandemEventId *parents = stack_ids;
  guint64 seq = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), self->peer_id);
  TandemEvent *event;
  g_autoptr(GError) error = NULL;

  if (n_parents > G_N_ELEMENTS (stack_lvs))
    {
      lvs = heap_lvs = g_new (guint32, n_parents);
      parents = heap_ids = g_new (TandemEventId, n_parents);
    }
  /* a copy: adding the event rewrites the frontier */
  for (guint i = 0; i < n_parents; i++)
    lvs[i] = frontier[i];
  for (guint i = 0; i < n_parents; i++)
    parents[i] = tandem_event_graph_get_id (self->graph, lvs[i]);
  event = tandem_event_new_text (self->peer_id, seq, parents, n_parents, kind, pos, len, text);

  if (!apply_on_frontier (self, event, lvs, self->record_mode != RECORD_EDIT, &error))
    g_error ("A checked local edit failed: %s", error->message);
  _tandem_note_record_step (self, event, deleted);
  return event;
}

/**
 * tandem_note_insert:
 * @pos: code point offset, at most the length
 * @text: UTF-8 to insert, not empty
 *
 * Returns: (transfer full): the run made, or %NULL with @error set
 */
TandemEvent *
tandem_note_insert (TandemNote  *self,
                    guint        pos,
                    const char  *text,
                    GError     **error)
{
  glong len;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "The inserted text is not valid UTF-8");
      return NULL;
    }
  len = g_utf8_strlen (text, -1);
  if (len == 0 || len > TANDEM_EVENT_MAX_LEN)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "An insert needs 1 to %u code points, not %ld", TANDEM_EVENT_MAX_LEN, len);
      return NULL;
    }
  if (!check_position (TANDEM_OP_INSERT, pos, len, tandem_rope_get_length (self->doc), error))
    return NULL;
  return _tandem_note_local_text (self, TANDEM_OP_INSERT, pos, len, text, NULL);
}

/**
 * tandem_note_delete:
 * @pos: code point offset of the first character to delete
 * @len: how many, at least 1
 *
 * Returns: (transfer full): the run made, or %NULL with @error set
 */
TandemEvent *
tandem_note_delete (TandemNote  *self,
                    guint        pos,
                    guint        len,
                    GError     **error)
{
  g_autofree char *deleted = NULL;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);

  if (len == 0 || len > TANDEM_EVENT_MAX_LEN)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "A delete needs 1 to %u code points, not %u", TANDEM_EVENT_MAX_LEN, len);
      return NULL;
    }
  if (!check_position (TANDEM_OP_DELETE_FORWARD, pos, len, tandem_rope_get_length (self->doc), error))
    return NULL;
  deleted = tandem_rope_dup_utf8 (self->doc, pos, len);
  return _tandem_note_local_text (self, TANDEM_OP_DELETE_FORWARD, pos, len, NULL, deleted);
}

static TandemEvent *
local_field (TandemNote     *self,
             const char     *field,
             TandemFieldOp   op,
             GVariant       *value,
             GArray         *observed,
             GError        **error)
{
  guint n_parents;
  g_autofree TandemEventId *parents = frontier_ids (self, &n_parents);
  guint64 seq = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), self->peer_id);
  g_autoptr(TandemEvent) event = NULL;

  event = tandem_event_new_field (self->peer_id, seq, parents, n_parents, field, op, value,
                                  self->lamport + 1,
                                  observed ? (TandemEventId *) observed->data : NULL,
                                  observed ? observed->len : 0);
  if (!tandem_event_validate (event, error) || !_tandem_note_integrate (self, event, TRUE, error))
    return NULL;
  return g_steal_pointer (&event);
}

static gboolean
check_policy (TandemNote  *self,
              const char  *field,
              gboolean     want_set,
              GError     **error)
{
  gboolean is_set = tandem_note_get_field_policy (self, field) == TANDEM_FIELD_POLICY_SET;

  if (is_set != want_set)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD,
                   is_set ? "Field “%s” is a set: add or remove elements instead"
                          : "Field “%s” holds one value: set it instead", field);
      return FALSE;
    }
  return TRUE;
}

/**
 * tandem_note_set_field:
 * @value: (nullable): a string, int64 or boolean #GVariant; %NULL unsets
 *
 * Writes a register field (policy lww or manual). The write's clock covers
 * everything this peer has seen, so it settles a manual conflict.
 *
 * Returns: (transfer full): the write, or %NULL with @error set
 */
TandemEvent *
tandem_note_set_field (TandemNote  *self,
                       const char  *field,
                       GVariant    *value,
                       GError     **error)
{
  /* sink a floating value whatever happens, as callers pass g_variant_new_*() */
  g_autoptr(GVariant) owned = value ? g_variant_ref_sink (value) : NULL;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);

  if (!check_policy (self, field, FALSE, error))
    return NULL;
  return local_field (self, field, TANDEM_FIELD_OP_SET, owned, NULL, error);
}

TandemEvent *
tandem_note_add_to_set (TandemNote  *self,
                        const char  *field,
                        const char  *elem,
                        GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);

  if (!check_policy (self, field, TRUE, error))
    return NULL;
  return local_field (self, field, TANDEM_FIELD_OP_ADD, g_variant_new_string (elem), NULL, error);
}

/* Removes @elem as far as this peer has seen it added; a concurrent add
 * elsewhere survives (add wins). */
TandemEvent *
tandem_note_remove_from_set (TandemNote  *self,
                             const char  *field,
                             const char  *elem,
                             GError     **error)
{
  g_autoptr(GArray) observed = NULL;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);

  if (!check_policy (self, field, TRUE, error))
    return NULL;
  observed = tandem_field_table_dup_adds (self->fields, field, elem);
  return local_field (self, field, TANDEM_FIELD_OP_REMOVE, g_variant_new_string (elem), observed, error);
}

void
tandem_note_set_field_policy (TandemNote        *self,
                              const char        *field,
                              TandemFieldPolicy  policy)
{
  g_return_if_fail (TANDEM_IS_NOTE (self));
  g_hash_table_insert (self->policies, g_strdup (field), GUINT_TO_POINTER (policy));
}

TandemFieldPolicy
tandem_note_get_field_policy (TandemNote *self,
                              const char *field)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), TANDEM_FIELD_POLICY_LWW);
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->policies, field));
}

/**
 * tandem_note_dup_field:
 *
 * The lww read of a register field.
 *
 * Returns: (transfer full) (nullable): the winning value, or %NULL when the
 *   field is unset or was never written
 */
GVariant *
tandem_note_dup_field (TandemNote *self,
                       const char *field)
{
  const TandemFieldWrite *w;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  w = tandem_field_table_get_winner (self->fields, field);
  return w && w->value ? g_variant_ref (w->value) : NULL;
}

/**
 * tandem_note_dup_field_values:
 *
 * The manual read: more than one value is a conflict to show the user.
 *
 * Returns: (transfer full) (element-type GVariant): the distinct live
 *   values; %NULL elements stand for an unset
 */
GPtrArray *
tandem_note_dup_field_values (TandemNote *self,
                              const char *field)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  return tandem_field_table_dup_values (self->fields, field);
}

GPtrArray *
tandem_note_dup_set (TandemNote *self,
                     const char *field)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  return tandem_field_table_dup_set (self->fields, field);
}

TandemFieldTable *
tandem_note_get_fields (TandemNote *self)
{
  return self->fields;
}

guint64
tandem_note_get_lamport (TandemNote *self)
{
  return self->lamport;
}

/* ---- undo ----------------------------------------------------------------- */

/**
 * tandem_note_find_event:
 *
 * Returns: where @id is in this peer's log (the number of events before
 *   it), or -1 when the note does not have it
 */
gint64
tandem_note_find_event (TandemNote          *self,
                        const TandemEventId *id)
{
  guint32 lv;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), -1);

  lv = tandem_event_graph_find (self->graph, id);
  return lv == TANDEM_LV_NONE ? -1 : (gint64) lv;
}
