/* tandem-note-undo.c: undo and redo of this peer's own edits
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Undo is a new local edit that inverts this peer's earlier action,
 * transformed to the current version, so it syncs like any other edit and
 * never touches what other people typed.
 */
#include "tandem-note-private.h"

#include "tandem-engine-error.h"
#include "tandem-text-merge.h"

#include <string.h>

void
_tandem_note_record_step (TandemNote   *self,
             TandemEvent  *event,
             const char   *deleted)
{
  /* the event was just appended */
  guint32 lv = tandem_event_graph_get_length (self->graph) - event->len;
  TandemUndoStack *stack = self->record_mode == RECORD_UNDO ? self->redo_stack : self->undo_stack;
  TandemUndoPush how;

  if (self->record_mode != RECORD_EDIT || self->user_action_depth > 0)
    {
      how = self->action_started ? TANDEM_UNDO_JOIN_GROUP : TANDEM_UNDO_NEW_GROUP;
      self->action_started = TRUE;
    }
  else
    how = TANDEM_UNDO_COALESCE;
  if (self->record_mode == RECORD_EDIT)
    tandem_undo_stack_clear (self->redo_stack);
  tandem_undo_stack_push (stack, lv, event->len, event->kind, event->pos, deleted, how);
}

/**
 * tandem_note_begin_user_action:
 *
 * Edits until the matching tandem_note_end_user_action() undo as one
 * action. Outside user actions, a run of typing or deleting is one action.
 */
void
tandem_note_begin_user_action (TandemNote *self)
{
  g_return_if_fail (TANDEM_IS_NOTE (self));
  if (self->user_action_depth++ == 0)
    self->action_started = FALSE;
}

void
tandem_note_end_user_action (TandemNote *self)
{
  g_return_if_fail (TANDEM_IS_NOTE (self));
  g_return_if_fail (self->user_action_depth > 0);
  if (--self->user_action_depth == 0)
    tandem_undo_stack_seal (self->undo_stack);
}

gboolean
tandem_note_can_undo (TandemNote *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), FALSE);
  return !tandem_undo_stack_is_empty (self->undo_stack);
}

gboolean
tandem_note_can_redo (TandemNote *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), FALSE);
  return !tandem_undo_stack_is_empty (self->redo_stack);
}

typedef struct
{
  TandemOpKind kind;
  guint32 pos;
  guint32 len;
  char *text;
} CollectedOp;

static void
collect_op (TandemOpKind  kind,
            guint32       pos,
            guint32       len,
            const char   *text,
            gsize         n_bytes,
            gpointer      user_data)
{
  CollectedOp op = { kind, pos, len, text ? g_strndup (text, n_bytes) : NULL };

  g_array_append_val ((GArray *) user_data, op);
}

/* TRUE when every event after @lv is this peer's own and the text shows
 * the latest of them. Own events after the top of the undo stack are
 * actions that were undone, each cancelled by its inverse, so the text
 * then equals the text right after @lv. */
static gboolean
only_own_events_after (TandemNote *self,
                       guint32     lv)
{
  guint32 length = tandem_event_graph_get_length (self->graph);
  const guint32 *frontier;
  guint n_frontier;

  frontier = tandem_event_graph_get_frontier (self->graph, &n_frontier);
  if (n_frontier != 1 || frontier[0] != length - 1)
    return FALSE;
  for (lv = lv + 1; lv < length; lv = tandem_event_graph_get_run_end (self->graph, lv))
    if (tandem_event_graph_get_id (self->graph, lv).peer != self->peer_id)
      return FALSE;
  return TRUE;
}

/* Adds the inverse of @step to the log, made on @parent; returns its last
 * lv. It is only ever merged in memory and dropped again. */
static guint32
add_inverse (TandemNote           *self,
             const TandemUndoStep *step,
             guint32               parent)
{
  guint64 seq = tandem_version_vector_get (tandem_event_graph_get_version (self->graph), self->peer_id);
  guint32 lv = tandem_event_graph_add (self->graph, self->peer_id, seq, step->len, &parent, 1);

  if (step->kind == TANDEM_OP_INSERT)
    tandem_op_log_append (self->ops, TANDEM_OP_DELETE_FORWARD, step->pos, step->len, NULL, 0, 0, FALSE);
  else
    {
      guint32 pos = step->kind == TANDEM_OP_DELETE_FORWARD ? step->pos : step->pos + 1 - step->len;

      tandem_op_log_append (self->ops, TANDEM_OP_INSERT, pos, step->len,
                            step->deleted->str, step->deleted->len, 0, FALSE);
    }
  return lv + step->len - 1;
}

/* What undoing @group means now. Each step's inverse is made on a version
 * where the text is exactly as the step left it: the step's own version,
 * or, when only this peer's undone actions came after it, today's version
 * (so text that an undo brought back counts as the step's own), and for the
 * earlier steps of the group, the inverse of the step after it (so the
 * group comes apart in reverse, as it was made). The inverses are merged
 * in memory against everything else since, and dropped; what comes out is
 * the edit to make now. Text others typed inside an undone insert is not
 * the step's, so it stays; characters others deleted come out as nothing. */
static GArray *
transform_inverse (TandemNote *self,
                   GArray     *group)
{
  GArray *collected = g_array_new (FALSE, FALSE, sizeof (CollectedOp));
  g_autoptr(GArray) old = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint32 length = tandem_event_graph_get_length (self->graph);
  guint32 previous = TANDEM_LV_NONE;
  const guint32 *frontier;
  guint n_frontier;
  g_autoptr(GError) error = NULL;

  frontier = tandem_event_graph_get_frontier (self->graph, &n_frontier);
  g_array_append_vals (old, frontier, n_frontier);

  for (guint i = group->len; i > 0; i--)
    {
      const TandemUndoStep *step = &g_array_index (group, TandemUndoStep, i - 1);
      guint32 step_end = step->lv + step->len - 1;
      guint32 parent = step_end;

      if (i == group->len)
        {
          if (only_own_events_after (self, step_end))
            parent = length - 1;
        }
      else
        {
          const TandemUndoStep *next = &g_array_index (group, TandemUndoStep, i);

          if (next->lv == step_end + 1)
            parent = previous;
        }
      previous = add_inverse (self, step, parent);
    }

  if (!tandem_text_merge (self->graph, self->ops, (guint32 *) old->data, old->len, length,
                          collect_op, collected, NULL, &error))
    g_error ("Undo could not transform its own edit: %s", error->message);
  tandem_event_graph_truncate (self->graph, length);
  tandem_op_log_truncate (self->ops, length);
  return collected;
}

static GPtrArray *
invert_group (TandemNote       *self,
              TandemUndoStack  *from,
              int               mode,
              GError          **error)
{
  GArray *group = tandem_undo_stack_pop_group (from);
  g_autoptr(GArray) ops = NULL;
  GPtrArray *made;

  if (group == NULL)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_NOTHING_TO_UNDO,
                   mode == RECORD_UNDO ? "Nothing to undo" : "Nothing to redo");
      return NULL;
    }

  made = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  ops = transform_inverse (self, group);
  self->record_mode = mode;
  self->action_started = FALSE;
  for (guint j = 0; j < ops->len; j++)
    {
      CollectedOp *op = &g_array_index (ops, CollectedOp, j);

      if (op->kind == TANDEM_OP_INSERT)
        g_ptr_array_add (made, _tandem_note_local_text (self, TANDEM_OP_INSERT, op->pos, op->len, op->text, NULL));
      else
        {
          g_autofree char *deleted = tandem_rope_dup_utf8 (self->doc, op->pos, op->len);

          g_ptr_array_add (made, _tandem_note_local_text (self, TANDEM_OP_DELETE_FORWARD, op->pos, op->len,
                                             NULL, deleted));
        }
      g_free (op->text);
    }
  self->record_mode = RECORD_EDIT;
  tandem_undo_stack_seal (self->undo_stack);
  tandem_undo_steps_free (group);
  return made;
}

/**
 * tandem_note_undo:
 *
 * Inverts this peer's latest undoable action, transformed to the current
 * version, as new local edits. Other peers' edits are never undone.
 *
 * Returns: (transfer container) (element-type TandemEvent): the runs made
 *   (possibly none, when others already removed everything), or %NULL with
 *   @error set when there is nothing to undo
 */
GPtrArray *
tandem_note_undo (TandemNote  *self,
                  GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  g_return_val_if_fail (self->user_action_depth == 0, NULL);
  return invert_group (self, self->undo_stack, RECORD_UNDO, error);
}

GPtrArray *
tandem_note_redo (TandemNote  *self,
                  GError     **error)
{
  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  g_return_val_if_fail (self->user_action_depth == 0, NULL);
  return invert_group (self, self->redo_stack, RECORD_REDO, error);
}

/**
 * tandem_note_save_undo:
 *
 * Returns: (transfer full): this peer's undo and redo stacks, for the store
 */
GBytes *
tandem_note_save_undo (TandemNote *self)
{
  GByteArray *out = g_byte_array_new ();

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  g_byte_array_append (out, (const guint8 *) "TNU1", 4);
  tandem_undo_stack_save (self->undo_stack, out);
  tandem_undo_stack_save (self->redo_stack, out);
  return g_byte_array_free_to_bytes (out);
}

/**
 * tandem_note_load_undo:
 *
 * Puts back stacks saved with tandem_note_save_undo() for this note's
 * history. Undo is a convenience, not data: damaged stacks leave both
 * empty and say so in @error; the note itself is untouched.
 *
 * Returns: %TRUE when the stacks were restored
 */
gboolean
tandem_note_load_undo (TandemNote  *self,
                       GBytes      *bytes,
                       GError     **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  const guint8 *end = p + len;
  guint32 n_events = tandem_event_graph_get_length (self->graph);

  g_return_val_if_fail (TANDEM_IS_NOTE (self), FALSE);

  if (len < 4 || memcmp (p, "TNU1", 4) != 0 ||
      (p += 4, !tandem_undo_stack_load (self->undo_stack, &p, end, n_events)) ||
      !tandem_undo_stack_load (self->redo_stack, &p, end, n_events) || p != end)
    {
      tandem_undo_stack_clear (self->undo_stack);
      tandem_undo_stack_clear (self->redo_stack);
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_FAILED,
                   "The saved undo history does not fit the note; starting without it");
      return FALSE;
    }
  return TRUE;
}
