/* tandem-note-item.c: a note as the sidebar's list model holds it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What a row shows, worked out once when the note changes rather than each
 * time a row is bound: the title (or, without one, the text's first line),
 * the start of the text on one line, the colour, the pin, and who else has
 * the note open. The list view makes row widgets only for the items in
 * sight, so a notebook of thousands of notes costs thousands of these small
 * objects, not thousands of widgets.
 */
#include "tandem-note-item.h"

#include <glib/gi18n.h>

struct _TandemNoteItem
{
  GObject parent_instance;

  char *id;
  char *title;
  char *snippet;
  char *colour;
  char *people;
  gboolean pinned;
  gint64 updated;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_SNIPPET,
  PROP_COLOUR,
  PROP_PEOPLE,
  PROP_PINNED,
  PROP_UPDATED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (TandemNoteItem, tandem_note_item, G_TYPE_OBJECT)

static void
tandem_note_item_finalize (GObject *object)
{
  TandemNoteItem *self = TANDEM_NOTE_ITEM (object);

  g_free (self->id);
  g_free (self->title);
  g_free (self->snippet);
  g_free (self->colour);
  g_free (self->people);
  G_OBJECT_CLASS (tandem_note_item_parent_class)->finalize (object);
}

static void
tandem_note_item_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  TandemNoteItem *self = TANDEM_NOTE_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_SNIPPET:
      g_value_set_string (value, self->snippet);
      break;
    case PROP_COLOUR:
      g_value_set_string (value, self->colour);
      break;
    case PROP_PEOPLE:
      g_value_set_string (value, self->people);
      break;
    case PROP_PINNED:
      g_value_set_boolean (value, self->pinned);
      break;
    case PROP_UPDATED:
      g_value_set_int64 (value, self->updated);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_note_item_class_init (TandemNoteItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = tandem_note_item_finalize;
  object_class->get_property = tandem_note_item_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_SNIPPET] = g_param_spec_string ("snippet", NULL, NULL, NULL, flags);
  properties[PROP_COLOUR] = g_param_spec_string ("colour", NULL, NULL, NULL, flags);
  properties[PROP_PEOPLE] = g_param_spec_string ("people", NULL, NULL, NULL, flags);
  properties[PROP_PINNED] = g_param_spec_boolean ("pinned", NULL, NULL, FALSE, flags);
  properties[PROP_UPDATED] = g_param_spec_int64 ("updated", NULL, NULL, 0, G_MAXINT64, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tandem_note_item_init (TandemNoteItem *self)
{
}

TandemNoteItem *
tandem_note_item_new (const char *note_id)
{
  TandemNoteItem *self = g_object_new (TANDEM_TYPE_NOTE_ITEM, NULL);

  self->id = g_strdup (note_id);
  return self;
}

static gboolean
set_string (TandemNoteItem *self,
            char          **field,
            char           *value,
            guint           prop)
{
  if (g_strcmp0 (*field, value) == 0)
    {
      g_free (value);
      return FALSE;
    }
  g_free (*field);
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
  return TRUE;
}

/**
 * tandem_note_item_update:
 * @title: (nullable): the note's title field
 * @snippet: (nullable): the start of its text
 * @colour: (nullable): its colour field
 *
 * Returns: whether the order of the list may have changed (the pin or the
 *   time of the last change differ from before)
 */
gboolean
tandem_note_item_update (TandemNoteItem *self,
                         const char     *title,
                         const char     *snippet,
                         const char     *colour,
                         gboolean        pinned,
                         gint64          updated)
{
  char *shown;
  char *line = g_strdup (snippet ? snippet : "");
  gboolean moved = pinned != self->pinned || updated != self->updated;

  g_object_freeze_notify (G_OBJECT (self));
  if (title != NULL && *title != '\0')
    shown = g_strdup (title);
  else
    {
      const char *end = strchr (line, '\n');
      char *first = end ? g_strndup (line, end - line) : g_strdup (line);

      shown = *first ? first : (g_free (first), g_strdup (_("Untitled note")));
    }
  set_string (self, &self->title, shown, PROP_TITLE);
  /* one line: the text's line breaks become spaces */
  set_string (self, &self->snippet, g_strdelimit (line, "\n\r\t", ' '), PROP_SNIPPET);
  set_string (self, &self->colour, g_strdup (colour), PROP_COLOUR);
  if (pinned != self->pinned)
    {
      self->pinned = pinned;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PINNED]);
    }
  if (updated != self->updated)
    {
      self->updated = updated;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPDATED]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  return moved;
}

/**
 * tandem_note_item_set_people:
 * @people: (nullable): who else has the note open, for a caption
 */
void
tandem_note_item_set_people (TandemNoteItem *self,
                             const char     *people)
{
  set_string (self, &self->people, people && *people ? g_strdup (people) : NULL, PROP_PEOPLE);
}

const char *
tandem_note_item_get_id (TandemNoteItem *self)
{
  return self->id;
}

const char *
tandem_note_item_get_title (TandemNoteItem *self)
{
  return self->title;
}

const char *
tandem_note_item_get_snippet (TandemNoteItem *self)
{
  return self->snippet;
}

/**
 * tandem_note_item_get_colour:
 *
 * Returns: (nullable): the colour field as is (the row knows which it can show)
 */
const char *
tandem_note_item_get_colour (TandemNoteItem *self)
{
  return self->colour;
}

/**
 * tandem_note_item_get_people:
 *
 * Returns: (nullable): who else has the note open, or %NULL for nobody
 */
const char *
tandem_note_item_get_people (TandemNoteItem *self)
{
  return self->people;
}

gboolean
tandem_note_item_get_pinned (TandemNoteItem *self)
{
  return self->pinned;
}

gint64
tandem_note_item_get_updated (TandemNoteItem *self)
{
  return self->updated;
}

/**
 * tandem_note_item_compare:
 *
 * The list's order: pinned notes first, then the latest change first; the
 * id breaks ties so that the order is the same on every run.
 */
int
tandem_note_item_compare (gconstpointer a,
                          gconstpointer b,
                          gpointer      user_data)
{
  const TandemNoteItem *x = a, *y = b;

  if (x->pinned != y->pinned)
    return x->pinned ? -1 : 1;
  if (x->updated != y->updated)
    return x->updated > y->updated ? -1 : 1;
  return g_strcmp0 (x->id, y->id);
}
