/* tandem-op-log.c: what each event of a note did, run-length encoded
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The log is indexed by local version, in step with TandemEventGraph. A run
 * here never spans an event whose parent is not the event before it, so the
 * document length at any event follows from its run's length_before.
 */
#include "tandem-op-log.h"

struct _TandemOpLog
{
  GArray *runs;        /* TandemOpRun, sorted by lv */
  GString *text;       /* the UTF-8 of every insert, in lv order */
  guint32 length;
};

TandemOpLog *
tandem_op_log_new (void)
{
  TandemOpLog *self = g_new0 (TandemOpLog, 1);

  self->runs = g_array_new (FALSE, FALSE, sizeof (TandemOpRun));
  self->text = g_string_new (NULL);
  return self;
}

void
tandem_op_log_free (TandemOpLog *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->runs);
  g_string_free (self->text, TRUE);
  g_free (self);
}

guint32
tandem_op_log_get_length (const TandemOpLog *self)
{
  return self->length;
}

/**
 * tandem_op_log_append:
 * @follows_previous: the first event's only parent is the event before it,
 *   so it may extend the last run
 *
 * Appends @len events at the next lvs.
 */
void
tandem_op_log_append (TandemOpLog  *self,
                      TandemOpKind  kind,
                      guint32       pos,
                      guint32       len,
                      const char   *text,
                      gsize         text_bytes,
                      guint32       length_before,
                      gboolean      follows_previous)
{
  TandemOpRun *last = self->runs->len ? &g_array_index (self->runs, TandemOpRun, self->runs->len - 1) : NULL;
  gboolean extend = FALSE;

  if (follows_previous && last != NULL)
    {
      if (kind == TANDEM_OP_INSERT)
        extend = last->kind == TANDEM_OP_INSERT && pos == last->pos + last->len;
      else if (kind != TANDEM_OP_FIELD && last->kind != TANDEM_OP_INSERT && last->kind != TANDEM_OP_FIELD)
        {
          /* A one-event delete is a forward delete and a backspace at
           * once, so it joins either kind of run: the editor deletes one
           * character at a time, and a row of backspaces is one run. */
          gboolean can_forward = (kind == TANDEM_OP_DELETE_FORWARD || len == 1) &&
                                 (last->kind == TANDEM_OP_DELETE_FORWARD || last->len == 1);
          gboolean can_backward = (kind == TANDEM_OP_DELETE_BACKWARD || len == 1) &&
                                  (last->kind == TANDEM_OP_DELETE_BACKWARD || last->len == 1);

          if (can_forward && pos == last->pos)
            {
              extend = TRUE;
              last->kind = TANDEM_OP_DELETE_FORWARD;
            }
          else if (can_backward && (guint64) pos + last->len == last->pos)
            {
              extend = TRUE;
              last->kind = TANDEM_OP_DELETE_BACKWARD;
            }
        }
    }

  if (extend)
    last->len += len;
  else
    {
      TandemOpRun run = { self->length, len, pos, length_before, (guint32) self->text->len, kind };

      g_array_append_val (self->runs, run);
    }
  if (kind == TANDEM_OP_INSERT)
    g_string_append_len (self->text, text, text_bytes);
  self->length += len;
}

guint
tandem_op_log_find_index (const TandemOpLog *self,
                          guint32            lv)
{
  guint lo = 0, hi = self->runs->len;

  g_assert (lv < self->length);
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (g_array_index (self->runs, TandemOpRun, mid).lv <= lv)
        lo = mid;
      else
        hi = mid;
    }
  return lo;
}

const TandemOpRun *
tandem_op_log_find (const TandemOpLog *self,
                    guint32            lv)
{
  return &g_array_index (self->runs, TandemOpRun, tandem_op_log_find_index (self, lv));
}

const TandemOpRun *
tandem_op_log_get_run (const TandemOpLog *self,
                       guint              index)
{
  return &g_array_index (self->runs, TandemOpRun, index);
}

guint
tandem_op_log_get_n_runs (const TandemOpLog *self)
{
  return self->runs->len;
}

void
tandem_op_log_truncate (TandemOpLog *self,
                        guint32      length)
{
  while (self->length > length)
    {
      TandemOpRun *run = &g_array_index (self->runs, TandemOpRun, self->runs->len - 1);
      guint32 keep = run->lv < length ? length - run->lv : 0;

      if (run->kind == TANDEM_OP_INSERT)
        {
          const char *end = g_utf8_offset_to_pointer (self->text->str + run->text_offset, keep);

          g_string_truncate (self->text, end - self->text->str);
        }
      self->length -= run->len - keep;
      if (keep == 0)
        g_array_set_size (self->runs, self->runs->len - 1);
      else
        run->len = keep;
    }
}

/* Sets the length_before of run @index, learnt during a merge. */
void
tandem_op_log_set_length_before (TandemOpLog *self,
                                 guint        index,
                                 guint32      length)
{
  g_array_index (self->runs, TandemOpRun, index).length_before = length;
}

/**
 * tandem_op_log_get_text:
 * @offset: the first event of @run to read
 * @n_bytes: (out): the byte length of the @n_chars characters
 *
 * Returns: (transfer none): the UTF-8 inserted by events @offset to
 *   @offset + @n_chars - 1 of the insert run @run; not nul-terminated
 */
const char *
tandem_op_log_get_text (const TandemOpLog *self,
                        const TandemOpRun *run,
                        guint32            offset,
                        guint32            n_chars,
                        gsize             *n_bytes)
{
  const char *start = g_utf8_offset_to_pointer (self->text->str + run->text_offset, offset);
  const char *end = g_utf8_offset_to_pointer (start, n_chars);

  g_assert (run->kind == TANDEM_OP_INSERT);
  *n_bytes = end - start;
  return start;
}

/* The document length at the version {lv}. */
guint32
tandem_op_log_length_after (const TandemOpLog *self,
                            guint32            lv)
{
  const TandemOpRun *run = tandem_op_log_find (self, lv);
  guint32 done = lv - run->lv + 1;

  switch (run->kind)
    {
    case TANDEM_OP_INSERT:
      return run->length_before + done;
    case TANDEM_OP_DELETE_FORWARD:
    case TANDEM_OP_DELETE_BACKWARD:
      return run->length_before - done;
    case TANDEM_OP_FIELD:
    default:
      return run->length_before;
    }
}

gsize
tandem_op_log_get_memory_size (const TandemOpLog *self)
{
  return sizeof *self + self->runs->len * sizeof (TandemOpRun) + self->text->allocated_len;
}
