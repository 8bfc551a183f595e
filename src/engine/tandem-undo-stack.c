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

static void
put_varint (GByteArray *out,
            guint64     v)
{
  do
    {
      guint8 b = (v & 0x7f) | (v >= 0x80 ? 0x80 : 0);

      g_byte_array_append (out, &b, 1);
      v >>= 7;
    }
  while (v != 0);
}

static gboolean
get_varint (const guint8 **p,
            const guint8  *end,
            guint64       *v)
{
  guint shift = 0;

  *v = 0;
  while (*p < end && shift < 64)
    {
      guint8 b = *(*p)++;

      *v |= (guint64) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return TRUE;
      shift += 7;
    }
  return FALSE;
}

/**
 * tandem_undo_stack_save:
 *
 * Appends the stack to @out: a varint count, then per step a varint of
 * (kind << 1 | starts an action), lv, len, pos, and for a delete the byte
 * length and UTF-8 of what it removed.
 */
void
tandem_undo_stack_save (TandemUndoStack *self,
                        GByteArray      *out)
{
  put_varint (out, self->entries->len);
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = &g_array_index (self->entries, Entry, i);

      put_varint (out, (guint64) e->step.kind << 1 | (e->starts_group ? 1 : 0));
      put_varint (out, e->step.lv);
      put_varint (out, e->step.len);
      put_varint (out, e->step.pos);
      if (e->step.kind != TANDEM_OP_INSERT)
        {
          put_varint (out, e->step.deleted->len);
          g_byte_array_append (out, (const guint8 *) e->step.deleted->str, e->step.deleted->len);
        }
    }
}

/**
 * tandem_undo_stack_load:
 * @p: (inout): where to read; moved past what was read
 * @n_events: how many events the note has; every step lies before
 *
 * Replaces the stack with the one saved at *@p.
 *
 * Returns: %FALSE, leaving the stack empty, when the bytes do not hold a
 *   sound stack
 */
gboolean
tandem_undo_stack_load (TandemUndoStack  *self,
                        const guint8    **p,
                        const guint8     *end,
                        guint32           n_events)
{
  guint64 count;

  tandem_undo_stack_clear (self);
  if (!get_varint (p, end, &count) || count > (guint64) (end - *p))
    return FALSE;
  for (guint64 i = 0; i < count; i++)
    {
      guint64 head, lv, len, pos, n_bytes = 0;
      Entry entry = { { 0 }, FALSE };

      if (!get_varint (p, end, &head) || !get_varint (p, end, &lv) ||
          !get_varint (p, end, &len) || !get_varint (p, end, &pos) ||
          (head >> 1) > TANDEM_OP_DELETE_BACKWARD || len == 0 || lv + len > n_events || pos > G_MAXUINT32 ||
          (i == 0 && !(head & 1)))
        goto bad;
      entry.step.kind = head >> 1;
      entry.step.lv = lv;
      entry.step.len = len;
      entry.step.pos = pos;
      entry.starts_group = head & 1;
      if (entry.step.kind != TANDEM_OP_INSERT)
        {
          if (!get_varint (p, end, &n_bytes) || n_bytes > (guint64) (end - *p) ||
              !g_utf8_validate_len ((const char *) *p, n_bytes, NULL) ||
              memchr (*p, '\0', n_bytes) != NULL ||
              (guint64) g_utf8_strlen ((const char *) *p, n_bytes) != len)
            goto bad;
          entry.step.deleted = g_string_new_len ((const char *) *p, n_bytes);
          *p += n_bytes;
        }
      g_array_append_val (self->entries, entry);
      if (entry.starts_group)
        self->n_groups++;
    }
  self->sealed = TRUE;
  return TRUE;

bad:
  tandem_undo_stack_clear (self);
  return FALSE;
}
