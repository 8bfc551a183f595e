/* tandem-field-table.c: the structured fields of a note
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each field is a multi-value register: the writes that no other delivered
 * write dominates, compared by their version vectors. Events arrive in
 * causal order (the note's causal buffer sees to that), so a dominated write
 * never arrives after its dominator except as a duplicate, which the note
 * drops before it gets here. Tags use a separate add-wins set: every add has
 * its own event id, and a remove names the adds it has seen.
 */
#include "tandem-field-table.h"

#include <string.h>

typedef struct
{
  GPtrArray *live;          /* TandemFieldWrite*, sorted by (lamport, peer) */
  GHashTable *elements;     /* element -> GArray of TandemEventId (live adds) */
} Field;

struct _TandemFieldTable
{
  GHashTable *fields;       /* name -> Field */
};

static void
write_free (gpointer data)
{
  TandemFieldWrite *w = data;

  tandem_version_vector_free (w->clock);
  g_clear_pointer (&w->value, g_variant_unref);
  g_free (w);
}

static void
field_free (gpointer data)
{
  Field *f = data;

  g_ptr_array_unref (f->live);
  g_hash_table_unref (f->elements);
  g_free (f);
}

TandemFieldTable *
tandem_field_table_new (void)
{
  TandemFieldTable *self = g_new0 (TandemFieldTable, 1);

  self->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, field_free);
  return self;
}

void
tandem_field_table_free (TandemFieldTable *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->fields);
  g_free (self);
}

static Field *
ensure_field (TandemFieldTable *self,
              const char       *name)
{
  Field *f = g_hash_table_lookup (self->fields, name);

  if (f == NULL)
    {
      f = g_new0 (Field, 1);
      f->live = g_ptr_array_new_with_free_func (write_free);
      f->elements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_array_unref);
      g_hash_table_insert (self->fields, g_strdup (name), f);
    }
  return f;
}

static void
variant_unref0 (gpointer data)
{
  if (data != NULL)
    g_variant_unref (data);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static int
write_order (const TandemFieldWrite *a,
             const TandemFieldWrite *b)
{
  if (a->lamport != b->lamport)
    return a->lamport < b->lamport ? -1 : 1;
  return tandem_event_id_compare (&a->id, &b->id);
}

/**
 * tandem_field_table_apply:
 * @clock: the version vector of @event's parents plus @event itself
 *
 * Integrates a field write that the note has accepted.
 */
void
tandem_field_table_apply (TandemFieldTable          *self,
                          const TandemEvent         *event,
                          const TandemVersionVector *clock)
{
  Field *f = ensure_field (self, event->field);
  const char *elem = event->field_op != TANDEM_FIELD_OP_SET ? g_variant_get_string (event->value, NULL) : NULL;
  TandemEventId id = { event->peer, event->seq };

  switch (event->field_op)
    {
    case TANDEM_FIELD_OP_SET:
      {
        TandemFieldWrite *w;
        guint i;

        for (i = 0; i < f->live->len; i++)
          {
            TandemFieldWrite *other = g_ptr_array_index (f->live, i);

            if (tandem_event_id_compare (&other->id, &id) == 0 ||
                tandem_version_vector_dominates (other->clock, clock))
              return;
          }
        for (i = 0; i < f->live->len;)
          {
            TandemFieldWrite *other = g_ptr_array_index (f->live, i);

            if (tandem_version_vector_dominates (clock, other->clock))
              g_ptr_array_remove_index (f->live, i);
            else
              i++;
          }
        w = g_new0 (TandemFieldWrite, 1);
        w->id = id;
        w->lamport = event->lamport;
        w->clock = tandem_version_vector_copy (clock);
        w->value = event->value ? g_variant_ref (event->value) : NULL;
        for (i = 0; i < f->live->len && write_order (g_ptr_array_index (f->live, i), w) < 0; i++)
          ;
        g_ptr_array_insert (f->live, i, w);
      }
      break;

    case TANDEM_FIELD_OP_ADD:
      {
        GArray *adds = g_hash_table_lookup (f->elements, elem);

        if (adds == NULL)
          {
            adds = g_array_new (FALSE, FALSE, sizeof (TandemEventId));
            g_hash_table_insert (f->elements, g_strdup (elem), adds);
          }
        g_array_append_val (adds, id);
      }
      break;

    case TANDEM_FIELD_OP_REMOVE:
      {
        GArray *adds = g_hash_table_lookup (f->elements, elem);

        if (adds == NULL)
          break;
        for (guint i = 0; i < adds->len;)
          {
            gboolean observed = FALSE;

            for (guint j = 0; j < event->n_observed && !observed; j++)
              observed = tandem_event_id_compare (&event->observed[j],
                                                  &g_array_index (adds, TandemEventId, i)) == 0;
            if (observed)
              g_array_remove_index (adds, i);
            else
              i++;
          }
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

/**
 * tandem_field_table_get_live:
 *
 * Returns: (transfer none) (nullable) (element-type TandemFieldWrite): the
 *   live writes of a register, ordered by (Lamport time, peer)
 */
GPtrArray *
tandem_field_table_get_live (TandemFieldTable *self,
                             const char       *field)
{
  Field *f = g_hash_table_lookup (self->fields, field);

  return f ? f->live : NULL;
}

/* The lww read: the live write with the greatest (Lamport time, peer). */
const TandemFieldWrite *
tandem_field_table_get_winner (TandemFieldTable *self,
                               const char       *field)
{
  GPtrArray *live = tandem_field_table_get_live (self, field);

  return live && live->len ? g_ptr_array_index (live, live->len - 1) : NULL;
}

/**
 * tandem_field_table_dup_values:
 *
 * The manual read: the distinct values of the live writes, in (Lamport,
 * peer) order of their first occurrence. One value means no conflict. An
 * unset is a %NULL element.
 *
 * Returns: (transfer full) (element-type GVariant): the values
 */
GPtrArray *
tandem_field_table_dup_values (TandemFieldTable *self,
                               const char       *field)
{
  GPtrArray *live = tandem_field_table_get_live (self, field);
  GPtrArray *values = g_ptr_array_new_with_free_func (variant_unref0);
  gboolean have_unset = FALSE;

  for (guint i = 0; live && i < live->len; i++)
    {
      TandemFieldWrite *w = g_ptr_array_index (live, i);
      gboolean seen = FALSE;

      if (w->value == NULL)
        {
          if (!have_unset)
            g_ptr_array_add (values, NULL);
          have_unset = TRUE;
          continue;
        }
      for (guint j = 0; j < values->len && !seen; j++)
        {
          GVariant *v = g_ptr_array_index (values, j);

          seen = v != NULL && g_variant_equal (v, w->value);
        }
      if (!seen)
        g_ptr_array_add (values, g_variant_ref (w->value));
    }
  return values;
}

/**
 * tandem_field_table_dup_set:
 *
 * Returns: (transfer full) (element-type utf8): the elements of a set field
 *   that have a live add, sorted
 */
GPtrArray *
tandem_field_table_dup_set (TandemFieldTable *self,
                            const char       *field)
{
  Field *f = g_hash_table_lookup (self->fields, field);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  if (f == NULL)
    return out;
  g_hash_table_iter_init (&iter, f->elements);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (((GArray *) value)->len > 0)
      g_ptr_array_add (out, g_strdup (key));
  g_ptr_array_sort (out, compare_strings);
  return out;
}

/**
 * tandem_field_table_dup_adds:
 *
 * Returns: (transfer full) (element-type TandemEventId): the live adds of
 *   @elem, which a remove must name
 */
GArray *
tandem_field_table_dup_adds (TandemFieldTable *self,
                             const char       *field,
                             const char       *elem)
{
  Field *f = g_hash_table_lookup (self->fields, field);
  GArray *adds = f ? g_hash_table_lookup (f->elements, elem) : NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (TandemEventId));

  if (adds != NULL)
    g_array_append_vals (out, adds->data, adds->len);
  return out;
}

/**
 * tandem_field_table_dup_names:
 *
 * Returns: (transfer full) (element-type utf8): every field written, sorted
 */
GPtrArray *
tandem_field_table_dup_names (TandemFieldTable *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->fields);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (out, g_strdup (key));
  g_ptr_array_sort (out, compare_strings);
  return out;
}

const char *
tandem_field_policy_to_string (TandemFieldPolicy policy)
{
  switch (policy)
    {
    case TANDEM_FIELD_POLICY_MANUAL:
      return "manual";
    case TANDEM_FIELD_POLICY_SET:
      return "set";
    case TANDEM_FIELD_POLICY_LWW:
    default:
      return "lww";
    }
}

gboolean
tandem_field_policy_from_string (const char        *str,
                                 TandemFieldPolicy *policy)
{
  if (g_strcmp0 (str, "lww") == 0)
    *policy = TANDEM_FIELD_POLICY_LWW;
  else if (g_strcmp0 (str, "manual") == 0)
    *policy = TANDEM_FIELD_POLICY_MANUAL;
  else if (g_strcmp0 (str, "set") == 0)
    *policy = TANDEM_FIELD_POLICY_SET;
  else
    return FALSE;
  return TRUE;
}
