/* tandem-event.c: a run of events as peers exchange them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tandem-event.h"

#include "tandem-engine-error.h"

#include <string.h>

G_DEFINE_BOXED_TYPE (TandemEvent, tandem_event, tandem_event_ref, tandem_event_unref)

/* An event, its parents and @extra bytes in one block: every keystroke
 * makes one, so it should cost one allocation. */
static TandemEvent *
event_alloc (guint64              peer,
             guint64              seq,
             const TandemEventId *parents,
             guint                n_parents,
             gsize                extra,
             char               **extra_out)
{
  gsize parents_size = n_parents * sizeof (TandemEventId);
  TandemEvent *self = g_malloc (sizeof (TandemEvent) + parents_size + extra);

  memset (self, 0, sizeof *self);
  self->ref_count = 1;
  self->peer = peer;
  self->seq = seq;
  self->n_parents = n_parents;
  if (n_parents > 0)
    {
      self->parents = (TandemEventId *) (self + 1);
      memcpy (self->parents, parents, parents_size);
    }
  if (extra_out != NULL)
    *extra_out = (char *) (self + 1) + parents_size;
  return self;
}

/**
 * tandem_event_new_text:
 * @text: (nullable): for an insert, the UTF-8 text (@len code points)
 *
 * Makes a text run. Nothing is checked here; see tandem_event_validate().
 */
TandemEvent *
tandem_event_new_text (guint64              peer,
                       guint64              seq,
                       const TandemEventId *parents,
                       guint                n_parents,
                       TandemOpKind         kind,
                       guint32              pos,
                       guint32              len,
                       const char          *text)
{
  gsize text_size = text ? strlen (text) + 1 : 0;
  char *text_copy = NULL;
  TandemEvent *self = event_alloc (peer, seq, parents, n_parents, text_size, &text_copy);

  self->kind = kind;
  self->pos = pos;
  self->len = len;
  if (text != NULL)
    self->text = memcpy (text_copy, text, text_size);
  return self;
}

/**
 * tandem_event_new_field:
 * @value: (nullable): the value, a string, int64 or boolean; %NULL to unset
 */
TandemEvent *
tandem_event_new_field (guint64              peer,
                        guint64              seq,
                        const TandemEventId *parents,
                        guint                n_parents,
                        const char          *field,
                        TandemFieldOp        op,
                        GVariant            *value,
                        guint64              lamport,
                        const TandemEventId *observed,
                        guint                n_observed)
{
  TandemEvent *self = event_alloc (peer, seq, parents, n_parents, 0, NULL);

  self->kind = TANDEM_OP_FIELD;
  self->len = 1;
  self->field = g_strdup (field);
  self->field_op = op;
  self->value = value ? g_variant_ref_sink (value) : NULL;
  self->lamport = lamport;
  self->n_observed = n_observed;
  self->observed = n_observed ? g_memdup2 (observed, n_observed * sizeof (TandemEventId)) : NULL;
  return self;
}

TandemEvent *
tandem_event_ref (TandemEvent *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
tandem_event_unref (TandemEvent *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  /* parents and text live in the event's own block */
  g_free (self->field);
  g_clear_pointer (&self->value, g_variant_unref);
  g_free (self->observed);
  g_free (self);
}

static gboolean
is_field_value (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      gsize n;
      const char *s = g_variant_get_string (value, &n);

      return n <= TANDEM_FIELD_VALUE_MAX && g_utf8_validate (s, n, NULL);
    }
  return g_variant_is_of_type (value, G_VARIANT_TYPE_INT64) ||
         g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN);
}

#define INVALID(...) \
  (g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT, __VA_ARGS__), FALSE)

/**
 * tandem_event_validate:
 *
 * Checks everything about the event that does not depend on the note:
 * lengths, UTF-8, no NUL, known operations, sizes, parents that come before
 * the event. Positions are checked against the text when it is integrated.
 *
 * Returns: %TRUE if the event is well formed
 */
gboolean
tandem_event_validate (const TandemEvent *self,
                       GError           **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->len == 0)
    return INVALID ("Event %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has no content", self->peer, self->seq);
  if (self->len > TANDEM_EVENT_MAX_LEN || self->seq > G_MAXUINT64 - self->len)
    return INVALID ("Event run %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " is too long", self->peer, self->seq);
  if (self->n_parents > TANDEM_EVENT_MAX_PARENTS)
    return INVALID ("Event %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has %u parents, more than %u",
                    self->peer, self->seq, self->n_parents, TANDEM_EVENT_MAX_PARENTS);
  for (guint i = 0; i < self->n_parents; i++)
    {
      if (self->parents[i].peer == self->peer && self->parents[i].seq >= self->seq)
        return INVALID ("Event %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " names a later event of its own peer as a parent",
                        self->peer, self->seq);
      for (guint j = 0; j < i; j++)
        if (tandem_event_id_compare (&self->parents[i], &self->parents[j]) == 0)
          return INVALID ("Event %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " names a parent twice", self->peer, self->seq);
    }
  if (self->seq > 0)
    {
      /* a peer always writes on its own latest version */
      gboolean has_own = FALSE;

      for (guint i = 0; i < self->n_parents; i++)
        has_own |= self->parents[i].peer == self->peer;
      if (!has_own && self->n_parents == 0)
        return INVALID ("Event %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has no parents but is not its peer's first",
                        self->peer, self->seq);
    }

  switch (self->kind)
    {
    case TANDEM_OP_INSERT:
      {
        const char *end;

        if (self->text == NULL)
          return INVALID ("Insert %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has no text", self->peer, self->seq);
        if (!g_utf8_validate (self->text, -1, &end))
          return INVALID ("Insert %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " is not valid UTF-8 at byte %d",
                          self->peer, self->seq, (int) (end - self->text));
        if ((guint64) g_utf8_strlen (self->text, -1) != self->len)
          return INVALID ("Insert %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " says %u code points but has %ld",
                          self->peer, self->seq, self->len, g_utf8_strlen (self->text, -1));
        if (self->field != NULL || self->value != NULL)
          return INVALID ("Insert %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " carries a field", self->peer, self->seq);
      }
      break;

    case TANDEM_OP_DELETE_FORWARD:
    case TANDEM_OP_DELETE_BACKWARD:
      if (self->text != NULL || self->field != NULL || self->value != NULL)
        return INVALID ("Delete %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " carries text or a field", self->peer, self->seq);
      if (self->kind == TANDEM_OP_DELETE_BACKWARD && (guint64) self->pos + 1 < self->len)
        return INVALID ("Backward delete %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " reaches before the start",
                        self->peer, self->seq);
      break;

    case TANDEM_OP_FIELD:
      if (self->len != 1 || self->text != NULL)
        return INVALID ("Field write %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " must be one event without text",
                        self->peer, self->seq);
      if (self->field == NULL || self->field[0] == '\0' || strlen (self->field) > TANDEM_FIELD_NAME_MAX ||
          !g_utf8_validate (self->field, -1, NULL))
        return INVALID ("Field write %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has no valid field name",
                        self->peer, self->seq);
      if (self->lamport == 0)
        return INVALID ("Field write %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has no Lamport time",
                        self->peer, self->seq);
      switch (self->field_op)
        {
        case TANDEM_FIELD_OP_SET:
          if (self->value != NULL && !is_field_value (self->value))
            return INVALID ("Field write %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has a value of type %s",
                            self->peer, self->seq, g_variant_get_type_string (self->value));
          if (self->n_observed != 0)
            return INVALID ("Field write %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " names removed adds",
                            self->peer, self->seq);
          break;
        case TANDEM_FIELD_OP_ADD:
        case TANDEM_FIELD_OP_REMOVE:
          if (self->value == NULL || !g_variant_is_of_type (self->value, G_VARIANT_TYPE_STRING) ||
              !is_field_value (self->value))
            return INVALID ("Set write %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " needs a string element",
                            self->peer, self->seq);
          if (self->field_op == TANDEM_FIELD_OP_ADD && self->n_observed != 0)
            return INVALID ("Set add %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " names removed adds",
                            self->peer, self->seq);
          if (self->n_observed > TANDEM_EVENT_MAX_LEN)
            return INVALID ("Set remove %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " names too many adds",
                            self->peer, self->seq);
          break;
        default:
          return INVALID ("Field write %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has unknown operation %d",
                          self->peer, self->seq, self->field_op);
        }
      break;

    default:
      return INVALID ("Event %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT " has unknown kind %d",
                      self->peer, self->seq, self->kind);
    }
  return TRUE;
}

/**
 * tandem_event_slice:
 * @offset: the first event to keep
 * @len: how many to keep
 *
 * Cuts a text run: event @offset becomes the first, with the event before it
 * as its only parent, and its position adjusted to that version.
 *
 * Returns: (transfer full): the shorter run
 */
TandemEvent *
tandem_event_slice (const TandemEvent *self,
                    guint32            offset,
                    guint32            len)
{
  TandemEventId parent = { self->peer, self->seq + offset - 1 };
  const TandemEventId *parents = offset ? &parent : self->parents;
  guint n_parents = offset ? 1 : self->n_parents;
  g_autofree char *text = NULL;
  guint32 pos = self->pos;

  g_return_val_if_fail (self->kind != TANDEM_OP_FIELD, NULL);
  g_return_val_if_fail ((guint64) offset + len <= self->len && len > 0, NULL);

  if (self->kind == TANDEM_OP_INSERT)
    {
      const char *start = g_utf8_offset_to_pointer (self->text, offset);
      const char *end = g_utf8_offset_to_pointer (start, len);

      text = g_strndup (start, end - start);
      pos += offset;
    }
  else if (self->kind == TANDEM_OP_DELETE_BACKWARD)
    pos -= offset;

  return tandem_event_new_text (self->peer, self->seq + offset, parents, n_parents,
                                self->kind, pos, len, text);
}

gboolean
tandem_event_equal (const TandemEvent *a,
                    const TandemEvent *b)
{
  if (a->peer != b->peer || a->seq != b->seq || a->n_parents != b->n_parents ||
      a->kind != b->kind || a->pos != b->pos || a->len != b->len ||
      g_strcmp0 (a->text, b->text) != 0 || g_strcmp0 (a->field, b->field) != 0 ||
      a->field_op != b->field_op || a->lamport != b->lamport || a->n_observed != b->n_observed)
    return FALSE;
  if ((a->value == NULL) != (b->value == NULL) || (a->value && !g_variant_equal (a->value, b->value)))
    return FALSE;
  return (a->n_parents == 0 || memcmp (a->parents, b->parents, a->n_parents * sizeof (TandemEventId)) == 0) &&
         (a->n_observed == 0 || memcmp (a->observed, b->observed, a->n_observed * sizeof (TandemEventId)) == 0);
}

char *
tandem_event_to_string (const TandemEvent *self)
{
  static const char *kinds[] = { "ins", "del", "bksp", "field" };
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "%" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT "+%u %s @%u",
                          self->peer, self->seq, self->len,
                          self->kind <= TANDEM_OP_FIELD ? kinds[self->kind] : "?", self->pos);
  if (self->text)
    g_string_append_printf (s, " \"%s\"", self->text);
  if (self->field)
    g_string_append_printf (s, " %s", self->field);
  return g_string_free (s, FALSE);
}
