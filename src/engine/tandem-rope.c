/* tandem-rope.c: the current text of a note, indexed by code point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Code points, not UTF-8, so that an offset (what GtkTextBuffer and the
 * protocol count) is an index. The text is cut into chunks of at most
 * CHUNK_MAX code points, so an edit moves at most one chunk's worth of
 * memory however long the note is, and two people typing far apart do not
 * drag a gap across the text between them. A cursor remembers the last
 * chunk used: edits cluster, so finding the chunk is usually a step or two.
 */
#include "tandem-rope.h"

#include <string.h>

#define CHUNK_MAX 512

typedef struct
{
  guint len;
  gunichar chars[CHUNK_MAX];
} Chunk;

struct _TandemRope
{
  GPtrArray *chunks;       /* Chunk*, never empty ones except a lone first */
  gsize length;
  guint cursor;            /* a chunk index ... */
  gsize cursor_start;      /* ... and the offset of its first character */
};

TandemRope *
tandem_rope_new (void)
{
  TandemRope *self = g_new0 (TandemRope, 1);

  self->chunks = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->chunks, g_new0 (Chunk, 1));
  return self;
}

void
tandem_rope_free (TandemRope *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->chunks);
  g_free (self);
}

TandemRope *
tandem_rope_copy (const TandemRope *self)
{
  TandemRope *copy = g_new0 (TandemRope, 1);

  copy->chunks = g_ptr_array_new_full (self->chunks->len, g_free);
  for (guint i = 0; i < self->chunks->len; i++)
    {
      const Chunk *c = g_ptr_array_index (self->chunks, i);
      Chunk *d = g_new (Chunk, 1);

      d->len = c->len;
      memcpy (d->chars, c->chars, c->len * sizeof (gunichar));
      g_ptr_array_add (copy->chunks, d);
    }
  copy->length = self->length;
  return copy;
}

gsize
tandem_rope_get_length (const TandemRope *self)
{
  return self->length;
}

static inline Chunk *
chunk_at (const TandemRope *self,
          guint             i)
{
  return g_ptr_array_index (self->chunks, i);
}

/* Finds the chunk holding @pos; at a chunk boundary, the earlier chunk
 * (so an insert at the end of a chunk appends to it). */
static Chunk *
locate (TandemRope *self,
        gsize       pos,
        guint      *offset)
{
  guint i = self->cursor;
  gsize start = self->cursor_start;

  while (pos < start || (pos == start && i > 0 && pos > 0))
    {
      i--;
      start -= chunk_at (self, i)->len;
    }
  while (pos > start + chunk_at (self, i)->len)
    {
      start += chunk_at (self, i)->len;
      i++;
    }
  self->cursor = i;
  self->cursor_start = start;
  *offset = pos - start;
  return chunk_at (self, i);
}

/* Finds the chunk holding the character at @pos (< the length): the same
 * as locate(), but at a boundary the later chunk. */
static Chunk *
locate_char (TandemRope *self,
             gsize       pos,
             guint      *offset)
{
  Chunk *chunk = locate (self, pos, offset);

  if (*offset == chunk->len)
    {
      self->cursor_start += chunk->len;
      self->cursor++;
      chunk = chunk_at (self, self->cursor);
      *offset = 0;
    }
  return chunk;
}

static gunichar
next_char (const char **utf8)
{
  gunichar c = (guchar) **utf8;

  if (c < 0x80)
    (*utf8)++;
  else
    {
      c = g_utf8_get_char (*utf8);
      *utf8 = g_utf8_next_char (*utf8);
    }
  return c;
}

/* @utf8 holds at least @n_chars valid characters. */
void
tandem_rope_insert (TandemRope *self,
                    gsize       pos,
                    const char *utf8,
                    gsize       n_chars)
{
  guint offset;
  Chunk *chunk;
  guint index;

  g_assert (pos <= self->length);
  chunk = locate (self, pos, &offset);
  index = self->cursor;
  self->length += n_chars;

  if (chunk->len + n_chars <= CHUNK_MAX)
    {
      memmove (chunk->chars + offset + n_chars, chunk->chars + offset,
               (chunk->len - offset) * sizeof (gunichar));
      for (gsize k = 0; k < n_chars; k++)
        chunk->chars[offset + k] = next_char (&utf8);
      chunk->len += n_chars;
      return;
    }

  /* Split: the tail moves to a new chunk after this one, then the text
   * fills this chunk and as many new ones as it needs. */
  {
    Chunk *tail = g_new (Chunk, 1);
    guint at = index + 1;

    tail->len = chunk->len - offset;
    memcpy (tail->chars, chunk->chars + offset, tail->len * sizeof (gunichar));
    chunk->len = offset;
    while (n_chars > 0)
      {
        while (n_chars > 0 && chunk->len < CHUNK_MAX)
          {
            chunk->chars[chunk->len++] = next_char (&utf8);
            n_chars--;
          }
        if (n_chars > 0)
          {
            chunk = g_new (Chunk, 1);
            chunk->len = 0;
            g_ptr_array_insert (self->chunks, at++, chunk);
          }
      }
    if (tail->len > 0)
      g_ptr_array_insert (self->chunks, at, tail);
    else
      g_free (tail);
  }
}

void
tandem_rope_delete (TandemRope *self,
                    gsize       pos,
                    gsize       n_chars)
{
  g_assert (pos + n_chars <= self->length);

  self->length -= n_chars;
  while (n_chars > 0)
    {
      guint offset, n;
      Chunk *chunk = locate_char (self, pos, &offset);

      n = MIN (n_chars, chunk->len - offset);
      memmove (chunk->chars + offset, chunk->chars + offset + n,
               (chunk->len - offset - n) * sizeof (gunichar));
      chunk->len -= n;
      n_chars -= n;
      if (chunk->len == 0 && self->chunks->len > 1)
        {
          g_ptr_array_remove_index (self->chunks, self->cursor);
          if (self->cursor == self->chunks->len)
            {
              self->cursor--;
              self->cursor_start -= chunk_at (self, self->cursor)->len;
            }
        }
    }
}

gunichar
tandem_rope_get_char (TandemRope *self,
                      gsize       pos)
{
  guint offset;
  Chunk *chunk;

  g_assert (pos < self->length);
  chunk = locate_char (self, pos, &offset);
  return chunk->chars[offset];
}

char *
tandem_rope_dup_utf8 (TandemRope *self,
                      gsize       pos,
                      gsize       n_chars)
{
  GString *s;

  g_assert (pos + n_chars <= self->length);
  if (n_chars == 1)
    {
      /* one key's worth, on every Delete and Backspace */
      char buf[8];
      int n = g_unichar_to_utf8 (tandem_rope_get_char (self, pos), buf);

      return g_strndup (buf, n);
    }
  s = g_string_sized_new (n_chars + 1);
  while (n_chars > 0)
    {
      guint offset, n;
      Chunk *chunk = locate_char (self, pos, &offset);

      n = MIN (n_chars, chunk->len - offset);
      for (guint k = 0; k < n; k++)
        {
          gunichar c = chunk->chars[offset + k];

          if (c < 0x80)
            g_string_append_c (s, (char) c);
          else
            g_string_append_unichar (s, c);
        }
      pos += n;
      n_chars -= n;
    }
  return g_string_free (s, FALSE);
}

gsize
tandem_rope_get_memory_size (const TandemRope *self)
{
  return sizeof *self + self->chunks->len * (sizeof (Chunk) + sizeof (gpointer));
}
