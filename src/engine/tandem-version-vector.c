/* tandem-version-vector.c: event ids and version vectors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tandem-version-vector.h"

#include <string.h>

struct _TandemVersionVector
{
  /* TandemVersionEntry, sorted by peer; no entry has a zero count */
  GArray *entries;
  guint hint;             /* the last entry found: lookups repeat a peer */
};

int
tandem_event_id_compare (const TandemEventId *a,
                         const TandemEventId *b)
{
  if (a->peer != b->peer)
    return a->peer < b->peer ? -1 : 1;
  if (a->seq != b->seq)
    return a->seq < b->seq ? -1 : 1;
  return 0;
}

TandemVersionVector *
tandem_version_vector_new (void)
{
  TandemVersionVector *self = g_new0 (TandemVersionVector, 1);

  self->entries = g_array_new (FALSE, FALSE, sizeof (TandemVersionEntry));
  return self;
}

TandemVersionVector *
tandem_version_vector_copy (const TandemVersionVector *self)
{
  TandemVersionVector *copy = tandem_version_vector_new ();

  g_array_append_vals (copy->entries, self->entries->data, self->entries->len);
  return copy;
}

void
tandem_version_vector_free (TandemVersionVector *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->entries);
  g_free (self);
}

/* Index of @peer's entry, or where it would be inserted. */
static guint
find_slot (const TandemVersionVector *self,
           guint64                    peer,
           gboolean                  *found)
{
  guint lo = 0, hi = self->entries->len;

  if (self->hint < hi && g_array_index (self->entries, TandemVersionEntry, self->hint).peer == peer)
    {
      *found = TRUE;
      return self->hint;
    }

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      guint64 p = g_array_index (self->entries, TandemVersionEntry, mid).peer;

      if (p == peer)
        {
          *found = TRUE;
          ((TandemVersionVector *) self)->hint = mid;
          return mid;
        }
      if (p < peer)
        lo = mid + 1;
      else
        hi = mid;
    }
  *found = FALSE;
  return lo;
}

guint64
tandem_version_vector_get (const TandemVersionVector *self,
                           guint64                    peer)
{
  gboolean found;
  guint i = find_slot (self, peer, &found);

  return found ? g_array_index (self->entries, TandemVersionEntry, i).count : 0;
}

void
tandem_version_vector_set (TandemVersionVector *self,
                           guint64              peer,
                           guint64              count)
{
  gboolean found;
  guint i;

  /* a single writer is the common case */
  if (self->entries->len == 1 && count > 0)
    {
      TandemVersionEntry *e = &g_array_index (self->entries, TandemVersionEntry, 0);

      if (e->peer == peer)
        {
          e->count = count;
          return;
        }
    }
  i = find_slot (self, peer, &found);

  if (found && count == 0)
    g_array_remove_index (self->entries, i);
  else if (found)
    g_array_index (self->entries, TandemVersionEntry, i).count = count;
  else if (count > 0)
    {
      TandemVersionEntry e = { peer, count };
      g_array_insert_val (self->entries, i, e);
    }
}

/* Componentwise maximum. */
void
tandem_version_vector_merge (TandemVersionVector       *self,
                             const TandemVersionVector *other)
{
  for (guint i = 0; i < other->entries->len; i++)
    {
      const TandemVersionEntry *e = &g_array_index (other->entries, TandemVersionEntry, i);

      if (tandem_version_vector_get (self, e->peer) < e->count)
        tandem_version_vector_set (self, e->peer, e->count);
    }
}

guint
tandem_version_vector_get_size (const TandemVersionVector *self)
{
  return self->entries->len;
}

const TandemVersionEntry *
tandem_version_vector_get_entry (const TandemVersionVector *self,
                                 guint                      i)
{
  g_return_val_if_fail (i < self->entries->len, NULL);
  return &g_array_index (self->entries, TandemVersionEntry, i);
}

gboolean
tandem_version_vector_contains (const TandemVersionVector *self,
                                const TandemEventId       *id)
{
  return id->seq < tandem_version_vector_get (self, id->peer);
}

/* TRUE when every event in @a is also in @b. */
gboolean
tandem_version_vector_leq (const TandemVersionVector *a,
                           const TandemVersionVector *b)
{
  for (guint i = 0; i < a->entries->len; i++)
    {
      const TandemVersionEntry *e = &g_array_index (a->entries, TandemVersionEntry, i);

      if (e->count > tandem_version_vector_get (b, e->peer))
        return FALSE;
    }
  return TRUE;
}

gboolean
tandem_version_vector_equal (const TandemVersionVector *a,
                             const TandemVersionVector *b)
{
  return a->entries->len == b->entries->len &&
         (a->entries->len == 0 ||
          memcmp (a->entries->data, b->entries->data, a->entries->len * sizeof (TandemVersionEntry)) == 0);
}

/* @a happened strictly after @b: it has seen all of @b and more. */
gboolean
tandem_version_vector_dominates (const TandemVersionVector *a,
                                 const TandemVersionVector *b)
{
  return tandem_version_vector_leq (b, a) && !tandem_version_vector_equal (a, b);
}

guint64
tandem_version_vector_total (const TandemVersionVector *self)
{
  guint64 total = 0;

  for (guint i = 0; i < self->entries->len; i++)
    total += g_array_index (self->entries, TandemVersionEntry, i).count;
  return total;
}

char *
tandem_version_vector_to_string (const TandemVersionVector *self)
{
  GString *s = g_string_new ("{");

  for (guint i = 0; i < self->entries->len; i++)
    {
      const TandemVersionEntry *e = &g_array_index (self->entries, TandemVersionEntry, i);

      g_string_append_printf (s, "%s%" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT,
                              i ? ", " : "", e->peer, e->count);
    }
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}
