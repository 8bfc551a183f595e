/* tandem-note-row.c: a note in the sidebar's list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Its title (or, without one, its first line), the start of its text, its
 * colour, a pin when pinned, and who else has it open.
 */
#include "tandem-note-row.h"

#include <glib/gi18n.h>

struct _TandemNoteRow
{
  GtkListBoxRow parent_instance;

  char *id;
  gboolean pinned;
  gint64 updated;
  GtkWidget *colour;
  GtkLabel *title;
  GtkLabel *snippet;
  GtkWidget *pin;
  GtkLabel *people;
};

G_DEFINE_FINAL_TYPE (TandemNoteRow, tandem_note_row, GTK_TYPE_LIST_BOX_ROW)

static void
tandem_note_row_finalize (GObject *object)
{
  g_free (TANDEM_NOTE_ROW (object)->id);
  G_OBJECT_CLASS (tandem_note_row_parent_class)->finalize (object);
}

static void
tandem_note_row_class_init (TandemNoteRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tandem_note_row_finalize;
}

static void
tandem_note_row_init (TandemNoteRow *self)
{
  GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  self->colour = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_add_css_class (self->colour, "note-colour");
  self->title = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->title, 0);
  gtk_label_set_ellipsize (self->title, PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (GTK_WIDGET (self->title), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->title), "heading");
  self->pin = gtk_image_new_from_icon_name ("view-pin-symbolic");
  gtk_widget_set_tooltip_text (self->pin, _("Pinned"));
  self->snippet = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->snippet, 0);
  gtk_label_set_ellipsize (self->snippet, PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (self->snippet, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->snippet), "dim-label");
  self->people = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->people, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->people), "caption");
  gtk_widget_add_css_class (GTK_WIDGET (self->people), "accent");

  gtk_box_append (GTK_BOX (top), GTK_WIDGET (self->title));
  gtk_box_append (GTK_BOX (top), self->pin);
  gtk_box_append (GTK_BOX (text), top);
  gtk_box_append (GTK_BOX (text), GTK_WIDGET (self->snippet));
  gtk_box_append (GTK_BOX (text), GTK_WIDGET (self->people));
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (outer), self->colour);
  gtk_box_append (GTK_BOX (outer), text);
  gtk_widget_add_css_class (outer, "note-row");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), outer);
}

GtkWidget *
tandem_note_row_new (const char *note_id)
{
  TandemNoteRow *self = g_object_new (TANDEM_TYPE_NOTE_ROW, NULL);

  self->id = g_strdup (note_id);
  return GTK_WIDGET (self);
}

const char *
tandem_note_row_get_id (TandemNoteRow *self)
{
  return self->id;
}

gboolean
tandem_note_row_get_pinned (TandemNoteRow *self)
{
  return self->pinned;
}

gint64
tandem_note_row_get_updated (TandemNoteRow *self)
{
  return self->updated;
}

/**
 * tandem_note_row_update:
 * @people: (nullable): who else has the note open, for a caption
 */
void
tandem_note_row_update (TandemNoteRow *self,
                        const char    *title,
                        const char    *snippet,
                        const char    *colour,
                        gboolean       pinned,
                        gint64         updated,
                        const char    *people)
{
  g_autofree char *first_line = NULL;
  g_autofree char *accessible = NULL;
  const char *shown;
  static const char *colour_classes[] = { "red", "orange", "yellow", "green", "blue", "purple" };

  if (title == NULL || *title == '\0')
    {
      const char *end = snippet ? strchr (snippet, '\n') : NULL;

      first_line = snippet ? (end ? g_strndup (snippet, end - snippet) : g_strdup (snippet)) : NULL;
      shown = first_line && *first_line ? first_line : _("Untitled note");
    }
  else
    shown = title;
  gtk_label_set_label (self->title, shown);
  {
    /* one line: the text's line breaks become spaces */
    g_autofree char *line = g_strdup (snippet ? snippet : "");

    g_strdelimit (line, "\n\r\t", ' ');
    gtk_label_set_label (self->snippet, line);
  }
  gtk_widget_set_visible (self->pin, pinned);
  gtk_label_set_label (self->people, people ? people : "");
  gtk_widget_set_visible (GTK_WIDGET (self->people), people != NULL && *people != '\0');
  for (guint i = 0; i < G_N_ELEMENTS (colour_classes); i++)
    gtk_widget_remove_css_class (self->colour, colour_classes[i]);
  if (colour != NULL)
    for (guint i = 0; i < G_N_ELEMENTS (colour_classes); i++)
      if (g_str_equal (colour, colour_classes[i]))
        gtk_widget_add_css_class (self->colour, colour);
  self->pinned = pinned;
  self->updated = updated;
  accessible = pinned ? g_strdup_printf (_("%s, pinned"), shown) : g_strdup (shown);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
}
