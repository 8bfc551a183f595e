/* tandem-gap-buffer.c: the current text of a note, indexed by code point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Code points, not UTF-8, so that an offset (what GtkTextBuffer and the
 * protocol count) is an index, and edits near the last one move little.
 */
#include "tandem-gap-buffer.h"

#include <string.h>

struct _TandemGapBuffer
{
  gunichar *chars;
  gsize capacity;
  gsize gap_start;
  gsize gap_end;
};

TandemGapBuffer *
tandem_gap_buffer_new (void)
{
  TandemGapBuffer *self = g_new0 (TandemGapBuffer, 1);

  self->capacity = 64;
  self->chars = g_new (gunichar, self->capacity);
  self->gap_end = self->capacity;
  return self;
}

void
tandem_gap_buffer_free (TandemGapBuffer *self)
{
  if (self == NULL)
    return;
  g_free (self->chars);
  g_free (self);
}

TandemGapBuffer *
tandem_gap_buffer_copy (const TandemGapBuffer *self)
{
  TandemGapBuffer *copy = g_new0 (TandemGapBuffer, 1);

  copy->capacity = self->capacity;
  copy->gap_start = self->gap_start;
  copy->gap_end = self->gap_end;
  copy->chars = g_memdup2 (self->chars, self->capacity * sizeof (gunichar));
  return copy;
}

gsize
tandem_gap_buffer_get_length (const TandemGapBuffer *self)
{
  return self->capacity - (self->gap_end - self->gap_start);
}

static void
move_gap (TandemGapBuffer *self,
          gsize            pos)
{
  if (pos < self->gap_start)
    {
      gsize n = self->gap_start - pos;

      memmove (self->chars + self->gap_end - n, self->chars + pos, n * sizeof (gunichar));
      self->gap_start -= n;
      self->gap_end -= n;
    }
  else if (pos > self->gap_start)
    {
      gsize n = pos - self->gap_start;

      memmove (self->chars + self->gap_start, self->chars + self->gap_end, n * sizeof (gunichar));
      self->gap_start += n;
      self->gap_end += n;
    }
}

static void
ensure_gap (TandemGapBuffer *self,
            gsize            n)
{
  gsize tail, new_capacity;

  if (self->gap_end - self->gap_start >= n)
    return;
  tail = self->capacity - self->gap_end;
  new_capacity = MAX (self->capacity * 2, tandem_gap_buffer_get_length (self) + n + 64);
  self->chars = g_renew (gunichar, self->chars, new_capacity);
  memmove (self->chars + new_capacity - tail, self->chars + self->gap_end, tail * sizeof (gunichar));
  self->gap_end = new_capacity - tail;
  self->capacity = new_capacity;
}

/* @utf8 holds at least @n_chars valid characters. */
void
tandem_gap_buffer_insert (TandemGapBuffer *self,
                          gsize            pos,
                          const char      *utf8,
                          gsize            n_chars)
{
  g_assert (pos <= tandem_gap_buffer_get_length (self));

  ensure_gap (self, n_chars);
  move_gap (self, pos);
  for (gsize i = 0; i < n_chars; i++)
    {
      if ((guchar) *utf8 < 0x80)
        self->chars[self->gap_start++] = (guchar) *utf8++;
      else
        {
          self->chars[self->gap_start++] = g_utf8_get_char (utf8);
          utf8 = g_utf8_next_char (utf8);
        }
    }
}

void
tandem_gap_buffer_delete (TandemGapBuffer *self,
                          gsize            pos,
                          gsize            n_chars)
{
  g_assert (pos + n_chars <= tandem_gap_buffer_get_length (self));

  move_gap (self, pos);
  self->gap_end += n_chars;
}

gunichar
tandem_gap_buffer_get_char (const TandemGapBuffer *self,
                            gsize                  pos)
{
  if (pos < self->gap_start)
    return self->chars[pos];
  return self->chars[pos + (self->gap_end - self->gap_start)];
}

char *
tandem_gap_buffer_dup_utf8 (const TandemGapBuffer *self,
                            gsize                  pos,
                            gsize                  n_chars)
{
  GString *s;

  g_assert (pos + n_chars <= tandem_gap_buffer_get_length (self));
  if (n_chars == 1)
    {
      char buf[8];
      int n = g_unichar_to_utf8 (tandem_gap_buffer_get_char (self, pos), buf);

      return g_strndup (buf, n);
    }
  s = g_string_sized_new (n_chars + 1);
  for (gsize i = pos; i < pos + n_chars; i++)
    {
      gunichar c = tandem_gap_buffer_get_char (self, i);

      if (c < 0x80)
        g_string_append_c (s, (char) c);
      else
        g_string_append_unichar (s, c);
    }
  return g_string_free (s, FALSE);
}

gsize
tandem_gap_buffer_get_memory_size (const TandemGapBuffer *self)
{
  return sizeof *self + self->capacity * sizeof (gunichar);
}
