/* tandem-undo-stack.c: a peer's own edits, grouped into undoable actions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * All steps sit in one array with a mark on the first step of each action,
 * so typing costs no allocation per key. When the stack holds twice its
 * depth, the older half is dropped in one go.
 */
#include "tandem-undo-stack.h"

#include <string.h>

typedef struct
{
  TandemUndoStep step;
  gboolean starts_group;
} Entry;

struct _TandemUndoStack
{
  GArray *entries;         /* Entry */
  guint n_groups;
  guint depth;
  gboolean sealed;         /* the last action is closed: do not extend it */
};

static void
entry_clear (gpointer data)
{
  Entry *entry = data;

  if (entry->step.deleted != NULL)
    g_string_free (entry->step.deleted, TRUE);
}

TandemUndoStack *
tandem_undo_stack_new (guint depth)
{
  TandemUndoStack *self = g_new0 (TandemUndoStack, 1);

  self->entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_array_set_clear_func (self->entries, entry_clear);
  self->depth = MAX (depth, 1);
  return self;
}

void
tandem_undo_stack_free (TandemUndoStack *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->entries);
  g_free (self);
}

gboolean
tandem_undo_stack_is_empty (TandemUndoStack *self)
{
  return self->n_groups == 0;
}

void
tandem_undo_stack_clear (TandemUndoStack *self)
{
  g_array_set_size (self->entries, 0);
  self->n_groups = 0;
}

/* Closes the last action: the next coalescing push starts a new one. */
void
tandem_undo_stack_seal (TandemUndoStack *self)
{
  self->sealed = TRUE;
}

/* Typing one character after another, or deleting with Delete or
 * Backspace, extends the step before, as editors group undo by typed runs. */
static gboolean
extend_step (TandemUndoStep *step,
             guint32         lv,
             guint32         len,
             TandemOpKind    kind,
             guint32         pos,
             const char     *deleted)
{
  if (lv != step->lv + step->len)
    return FALSE;
  if (kind == TANDEM_OP_INSERT)
    {
      if (step->kind != TANDEM_OP_INSERT || pos != step->pos + step->len)
        return FALSE;
      step->len += len;
      return TRUE;
    }
  if (step->kind == TANDEM_OP_DELETE_FORWARD && pos == step->pos)
    g_string_append (step->deleted, deleted);
  else if (len == 1 && (guint64) pos + step->len == step->pos &&
           (step->kind == TANDEM_OP_DELETE_BACKWARD ||
            (step->kind == TANDEM_OP_DELETE_FORWARD && step->len == 1)))
    {
      g_string_prepend (step->deleted, deleted);
      step->kind = TANDEM_OP_DELETE_BACKWARD;
    }
  else
    return FALSE;
  step->len += len;
  return TRUE;
}

static void
drop_oldest_half (TandemUndoStack *self)
{
  guint keep = self->n_groups / 2;
  guint seen = 0, i;

  for (i = self->entries->len; i > 0; i--)
    if (g_array_index (self->entries, Entry, i - 1).starts_group && ++seen == keep)
      break;
  g_array_remove_range (self->entries, 0, i - 1);
  self->n_groups = keep;
}

/**
 * tandem_undo_stack_push:
 * @deleted: (nullable): for a delete, the text it removed
 * @how: how the step relates to the action before it
 */
void
tandem_undo_stack_push (TandemUndoStack *self,
                        guint32          lv,
                        guint32          len,
                        TandemOpKind     kind,
                        guint32          pos,
                        const char      *deleted,
                        TandemUndoPush   how)
{
  Entry entry = { { lv, len, kind, pos, NULL }, TRUE };

  if (how == TANDEM_UNDO_COALESCE && !self->sealed && self->entries->len > 0)
    {
      Entry *last = &g_array_index (self->entries, Entry, self->entries->len - 1);

      if (last->starts_group && extend_step (&last->step, lv, len, kind, pos, deleted))
        return;
    }
  if (how == TANDEM_UNDO_JOIN_GROUP && self->entries->len > 0)
    entry.starts_group = FALSE;

  entry.step.deleted = deleted ? g_string_new (deleted) : NULL;
  g_array_append_val (self->entries, entry);
  if (entry.starts_group)
    self->n_groups++;
  /* only a lone typed step may grow */
  self->sealed = how != TANDEM_UNDO_COALESCE;
  if (self->n_groups > 2 * self->depth)
    drop_oldest_half (self);
}

/**
 * tandem_undo_stack_pop_group:
 *
 * Returns: (transfer full) (nullable) (element-type TandemUndoStep): the
 *   latest action's steps in the order they were made; free with
 *   tandem_undo_steps_free()
 */
GArray *
tandem_undo_stack_pop_group (TandemUndoStack *self)
{
  GArray *steps;
  guint start;

  if (self->n_groups == 0)
    return NULL;
  for (start = self->entries->len; start > 0; start--)
    if (g_array_index (self->entries, Entry, start - 1).starts_group)
      break;
  start--;

  steps = g_array_new (FALSE, FALSE, sizeof (TandemUndoStep));
  for (guint i = start; i < self->entries->len; i++)
    {
      Entry *e = &g_array_index (self->entries, Entry, i);

      g_array_append_val (steps, e->step);
      e->step.deleted = NULL;       /* moved */
    }
  g_array_set_size (self->entries, start);
  self->n_groups--;
  self->sealed = TRUE;
  return steps;
}

void
tandem_undo_steps_free (GArray *steps)
{
  for (guint i = 0; i < steps->len; i++)
    {
      GString *deleted = g_array_index (steps, TandemUndoStep, i).deleted;

      if (deleted != NULL)
        g_string_free (deleted, TRUE);
    }
  g_array_unref (steps);
}
