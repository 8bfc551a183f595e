/* tandem-note-receive.c: taking many runs from other peers at once
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A peer catching up gets a long stretch of history in one go. Merging
 * each run as it comes would replay the concurrent part of the history once
 * per run; instead the runs join the log first and are merged in one replay.
 */
#include "tandem-note-private.h"

#include "tandem-engine-error.h"
#include "tandem-text-merge.h"

#include <string.h>

/* Adds a ready text run to the log without touching the text yet; the
 * batch is merged in one replay by flush_batch(). */
static gboolean
append_unmerged (TandemNote   *self,
                 TandemEvent  *event,
                 GError      **error)
{
  g_autofree guint32 *lvs = g_new (guint32, MAX (event->n_parents, 1));
  guint32 length = tandem_event_graph_get_length (self->graph);

  if (!_tandem_note_parents_to_lvs (self, event, lvs))
    g_assert_not_reached ();
  if (!_tandem_note_check_own_chain (self, event, lvs, error))
    return FALSE;
  tandem_event_graph_add (self->graph, event->peer, event->seq, event->len, lvs, event->n_parents);
  tandem_op_log_append (self->ops, event->kind, event->pos, event->len, event->text,
                        event->text ? strlen (event->text) : 0, 0,
                        event->n_parents == 1 && length > 0 && lvs[0] == length - 1);
  return TRUE;
}

/* A batch that changed the text in at most this many steps is told to an
 * editor step by step; a bigger one (a peer catching up) as one
 * replacement of the whole text. */
#define MAX_TOLD_STEPS 256

typedef struct
{
  TandemOpKind kind;
  guint32 pos;
  guint32 len;
  char *text;               /* an insert's, NUL-terminated */
  gsize n_bytes;
} Step;

typedef struct
{
  ApplyData quiet;
  GArray *steps;            /* Step, until there are too many */
  gboolean too_many;
} Recorder;

static void
step_clear (gpointer data)
{
  g_free (((Step *) data)->text);
}

/* Applies a step of the merge to the text, and notes it down: it is told
 * only once the whole batch merged. */
static void
record_step (TandemOpKind  kind,
             guint32       pos,
             guint32       len,
             const char   *text,
             gsize         n_bytes,
             gpointer      user_data)
{
  Recorder *rec = user_data;

  _tandem_note_apply_to_doc (kind, pos, len, text, n_bytes, &rec->quiet);
  if (rec->too_many)
    return;
  if (rec->steps->len == MAX_TOLD_STEPS)
    {
      rec->too_many = TRUE;
      g_array_set_size (rec->steps, 0);
      return;
    }
  g_array_append_val (rec->steps, ((Step) { kind, pos, len,
                                            kind == TANDEM_OP_INSERT ? g_strndup (text, n_bytes) : NULL,
                                            n_bytes }));
}

typedef struct
{
  guint32 start;            /* first lv of the batch */
  GArray *old_frontier;     /* the version the text shows */
  GPtrArray *events;        /* the runs in the batch, for the slow path */
} Batch;

/* Starts an empty batch at the current version. */
static void
batch_restart (TandemNote *self,
               Batch      *batch)
{
  const guint32 *frontier;
  guint n_frontier;

  g_ptr_array_set_size (batch->events, 0);
  batch->start = tandem_event_graph_get_length (self->graph);
  frontier = tandem_event_graph_get_frontier (self->graph, &n_frontier);
  g_array_set_size (batch->old_frontier, 0);
  g_array_append_vals (batch->old_frontier, frontier, n_frontier);
}

/* Merges the batch in one replay. If a run in it turns out invalid, the
 * text and log go back to where the batch started and the runs are
 * integrated one at a time, so exactly the invalid ones are refused. */
static void
flush_batch (TandemNote *self,
             Batch      *batch,
             GPtrArray  *errors)
{
  guint32 end = tandem_event_graph_get_length (self->graph);

  if (end > batch->start)
    {
      g_autoptr(TandemRope) backup = tandem_rope_copy (self->doc);
      g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (Step));
      Recorder rec = { { self, FALSE }, steps, FALSE };
      g_autoptr(GError) error = NULL;

      g_array_set_clear_func (steps, step_clear);
      if (tandem_text_merge (self->graph, self->ops, (guint32 *) batch->old_frontier->data,
                             batch->old_frontier->len, batch->start, record_step, &rec, NULL, &error))
        {
          if (!rec.too_many)
            {
              /* the same steps again on the text as it was, each one told:
               * an editor follows the few places that changed */
              ApplyData loud = { self, TRUE };

              tandem_rope_free (self->doc);
              self->doc = g_steal_pointer (&backup);
              for (guint i = 0; i < steps->len; i++)
                {
                  Step *step = &g_array_index (steps, Step, i);

                  _tandem_note_apply_to_doc (step->kind, step->pos, step->len, step->text, step->n_bytes, &loud);
                }
            }
          else
            {
              g_autofree char *text = tandem_rope_dup_utf8 (self->doc, 0, tandem_rope_get_length (self->doc));

              /* an editor mirrors a long batch as one replacement of the
               * whole text */
              _tandem_note_emit_deleted (self, 0, tandem_rope_get_length (backup));
              _tandem_note_emit_inserted (self, 0, text, tandem_rope_get_length (self->doc));
            }
        }
      else
        {
          tandem_rope_free (self->doc);
          self->doc = g_steal_pointer (&backup);
          tandem_event_graph_truncate (self->graph, batch->start);
          tandem_op_log_truncate (self->ops, batch->start);
          for (guint i = 0; i < batch->events->len; i++)
            {
              TandemEvent *event = g_ptr_array_index (batch->events, i);
              g_autoptr(GError) one_error = NULL;

              if (_tandem_note_parents_known (self, event) &&
                  !tandem_version_vector_contains (tandem_event_graph_get_version (self->graph),
                                                   &(TandemEventId) { event->peer, event->seq }) &&
                  !_tandem_note_integrate (self, event, TRUE, &one_error))
                g_ptr_array_add (errors, g_steal_pointer (&one_error));
            }
        }
    }
  batch_restart (self, batch);
}

static void
batch_add (TandemNote *self,
           Batch      *batch,
           TandemEvent *event,
           GPtrArray  *errors)
{
  GError *error = NULL;
  guint64 known = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), event->peer);
  g_autoptr(TandemEvent) trimmed = event->seq < known
    ? tandem_event_slice (event, known - event->seq, event->seq + event->len - known)
    : tandem_event_ref (event);

  /* Runs on the current version and field writes need no batch. */
  if (batch->events->len == 0 || trimmed->kind == TANDEM_OP_FIELD)
    {
      guint32 lvs[TANDEM_EVENT_MAX_PARENTS];

      if (!_tandem_note_parents_to_lvs (self, trimmed, lvs))
        g_assert_not_reached ();
      if (trimmed->kind == TANDEM_OP_FIELD ||
          tandem_event_graph_frontier_equals (self->graph, lvs, trimmed->n_parents))
        {
          flush_batch (self, batch, errors);
          /* the flush may have refused a run this one stands on, or its
           * own peer's run before it: then it waits, as a run whose
           * parents never came (found by fuzz-events: it crashed here) */
          if (!_tandem_note_parents_known (self, trimmed) ||
              trimmed->seq > tandem_version_vector_get (tandem_event_graph_get_version (self->graph), trimmed->peer))
            _tandem_note_add_pending (self, event);
          else if (!_tandem_note_integrate (self, trimmed, TRUE, &error))
            g_ptr_array_add (errors, error);
          batch_restart (self, batch);
          return;
        }
    }
  if (append_unmerged (self, trimmed, &error))
    g_ptr_array_add (batch->events, g_steal_pointer (&trimmed));
  else
    g_ptr_array_add (errors, error);
}

/**
 * tandem_note_receive_many:
 * @events: (element-type TandemEvent): runs, in any order
 * @errors: (out) (optional) (transfer container) (element-type GError):
 *   why each refused run was refused
 *
 * Like tandem_note_receive() for each run, but concurrent runs are merged
 * in one replay, which is what a peer catching up on a long history needs.
 *
 * Returns: %TRUE if no run was refused
 */
gboolean
tandem_note_receive_many (TandemNote  *self,
                          GPtrArray   *events,
                          GPtrArray  **errors)
{
  g_autoptr(GPtrArray) refused = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  Batch batch = { 0 };
  gboolean progress = TRUE;
  gboolean ok;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), FALSE);

  batch.old_frontier = g_array_new (FALSE, FALSE, sizeof (guint32));
  batch.events = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  batch_restart (self, &batch);

  for (guint i = 0; i < events->len; i++)
    {
      TandemEvent *event = g_ptr_array_index (events, i);
      GError *error = NULL;
      guint64 known;

      if (!tandem_event_validate (event, &error))
        {
          g_ptr_array_add (refused, error);
          continue;
        }
      known = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), event->peer);
      if (event->seq + event->len <= known)
        continue;
      if (event->seq > known || !_tandem_note_parents_known (self, event))
        {
          _tandem_note_add_pending (self, event);
          continue;
        }
      batch_add (self, &batch, event, refused);
    }

  /* what the batch released from the causal buffer */
  while (progress)
    {
      progress = FALSE;
      for (guint i = 0; i < self->pending->len;)
        {
          TandemEvent *event = g_ptr_array_index (self->pending, i);
          guint64 known = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), event->peer);

          if (event->seq + event->len <= known)
            _tandem_note_remove_pending (self, i);
          else if (event->seq <= known && _tandem_note_parents_known (self, event))
            {
              g_autoptr(TandemEvent) ready = tandem_event_ref (event);

              _tandem_note_remove_pending (self, i);
              batch_add (self, &batch, ready, refused);
              progress = TRUE;
            }
          else
            i++;
        }
    }
  flush_batch (self, &batch, refused);

  g_array_unref (batch.old_frontier);
  g_ptr_array_unref (batch.events);
  ok = refused->len == 0;
  if (errors != NULL)
    *errors = g_steal_pointer (&refused);
  return ok;
}
