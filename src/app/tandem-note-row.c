/* tandem-note-row.c: how the sidebar's list shows a note
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Its title, the start of its text, its colour, a pin when pinned, and who
 * else has it open. The list view recycles rows: one row shows one
 * TandemNoteItem at a time (tandem_note_row_set_item) and follows it while
 * it changes.
 */
#include "tandem-note-row.h"

#include <glib/gi18n.h>

struct _TandemNoteRow
{
  GtkBox parent_instance;

  TandemNoteItem *item;
  GtkWidget *colour;
  GtkLabel *title;
  GtkLabel *snippet;
  GtkWidget *pin;
  GtkLabel *people;
};

G_DEFINE_FINAL_TYPE (TandemNoteRow, tandem_note_row, GTK_TYPE_BOX)

static const char *colour_classes[] = { "red", "orange", "yellow", "green", "blue", "purple" };

static void
show_item (TandemNoteRow *self)
{
  const char *title = tandem_note_item_get_title (self->item);
  const char *colour = tandem_note_item_get_colour (self->item);
  const char *people = tandem_note_item_get_people (self->item);
  gboolean pinned = tandem_note_item_get_pinned (self->item);
  g_autofree char *accessible = NULL;

  gtk_label_set_label (self->title, title);
  gtk_label_set_label (self->snippet, tandem_note_item_get_snippet (self->item));
  gtk_widget_set_visible (self->pin, pinned);
  gtk_label_set_label (self->people, people ? people : "");
  gtk_widget_set_visible (GTK_WIDGET (self->people), people != NULL);
  for (guint i = 0; i < G_N_ELEMENTS (colour_classes); i++)
    if (g_strcmp0 (colour, colour_classes[i]) == 0)
      gtk_widget_add_css_class (self->colour, colour_classes[i]);
    else
      gtk_widget_remove_css_class (self->colour, colour_classes[i]);
  /* Translators: how a screen reader names a pinned note in the list */
  accessible = pinned ? g_strdup_printf (_("%s, pinned"), title) : g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
}

/**
 * tandem_note_row_set_item:
 * @item: (nullable): the note to show, or %NULL when the row is put aside
 */
void
tandem_note_row_set_item (TandemNoteRow  *self,
                          TandemNoteItem *item)
{
  if (self->item == item)
    return;
  if (self->item != NULL)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_set_object (&self->item, item);
  if (item != NULL)
    {
      g_signal_connect_swapped (item, "notify", G_CALLBACK (show_item), self);
      show_item (self);
    }
}

/**
 * tandem_note_row_get_item:
 *
 * Returns: (nullable) (transfer none): the note shown
 */
TandemNoteItem *
tandem_note_row_get_item (TandemNoteRow *self)
{
  return self->item;
}

static void
tandem_note_row_dispose (GObject *object)
{
  tandem_note_row_set_item (TANDEM_NOTE_ROW (object), NULL);
  G_OBJECT_CLASS (tandem_note_row_parent_class)->dispose (object);
}

static void
tandem_note_row_class_init (TandemNoteRowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tandem_note_row_dispose;
}

static void
tandem_note_row_init (TandemNoteRow *self)
{
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_box_set_spacing (GTK_BOX (self), 8);
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
  gtk_box_append (GTK_BOX (self), self->colour);
  gtk_box_append (GTK_BOX (self), text);
  gtk_widget_add_css_class (GTK_WIDGET (self), "note-row");
}

GtkWidget *
tandem_note_row_new (void)
{
  return g_object_new (TANDEM_TYPE_NOTE_ROW, NULL);
}
