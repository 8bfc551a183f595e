/* tandem-source-view.c: the note's text view, with the other members' carets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A GtkSourceView that draws, above the text, each member's caret and
 * selection in their colour with their name on a tag by the caret. The
 * positions are character offsets into the buffer as it is now; the
 * window recomputes them whenever presence or the text changes.
 */
#include "tandem-source-view.h"

struct _TandemSourceView
{
  GtkSourceView parent_instance;

  GPtrArray *cursors;   /* TandemRemoteCursor */
};

G_DEFINE_FINAL_TYPE (TandemSourceView, tandem_source_view, GTK_SOURCE_TYPE_VIEW)

void
tandem_remote_cursor_free (TandemRemoteCursor *cursor)
{
  g_free (cursor->name);
  g_free (cursor);
}

static void
snapshot_selection (GtkTextView        *view,
                    GtkSnapshot        *snapshot,
                    TandemRemoteCursor *cursor)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end, line;
  GdkRGBA tint = cursor->colour;

  tint.alpha = 0.25;
  gtk_text_buffer_get_iter_at_offset (buffer, &start, MIN (cursor->pos, cursor->anchor));
  gtk_text_buffer_get_iter_at_offset (buffer, &end, MAX (cursor->pos, cursor->anchor));
  line = start;
  /* one rectangle per display line the selection touches */
  while (gtk_text_iter_compare (&line, &end) < 0)
    {
      GtkTextIter line_end = line;
      GdkRectangle a, b;

      if (!gtk_text_view_forward_display_line_end (view, &line_end) ||
          gtk_text_iter_compare (&line_end, &end) > 0)
        line_end = end;
      gtk_text_view_get_iter_location (view, &line, &a);
      gtk_text_view_get_iter_location (view, &line_end, &b);
      gtk_snapshot_append_color (snapshot, &tint,
                                 &GRAPHENE_RECT_INIT (a.x, a.y, MAX (b.x - a.x, 4), MAX (a.height, b.height)));
      line = line_end;
      if (!gtk_text_view_forward_display_line (view, &line))
        break;
      gtk_text_view_backward_display_line_start (view, &line);
    }
}

static void
snapshot_caret (GtkTextView        *view,
                GtkSnapshot        *snapshot,
                TandemRemoteCursor *cursor)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter iter;
  GdkRectangle rect;
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (view), cursor->name);
  PangoFontDescription *font = pango_font_description_from_string ("Sans Bold 8");
  int width, height;
  GdkRGBA white = { 1, 1, 1, 1 };

  gtk_text_buffer_get_iter_at_offset (buffer, &iter, cursor->pos);
  gtk_text_view_get_iter_location (view, &iter, &rect);
  gtk_snapshot_append_color (snapshot, &cursor->colour,
                             &GRAPHENE_RECT_INIT (rect.x - 1, rect.y, 2, rect.height));

  /* the name, on a tag above the caret */
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_get_pixel_size (layout, &width, &height);
  /* above the caret's line (the view's top margin leaves room for it on
   * the first line), so the tag never covers the text the caret is in */
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (rect.x - 1, rect.y - height));
  gtk_snapshot_append_color (snapshot, &cursor->colour, &GRAPHENE_RECT_INIT (0, 0, width + 6, height));
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (3, 0));
  gtk_snapshot_append_layout (snapshot, layout, &white);
  gtk_snapshot_restore (snapshot);
}

static void
tandem_source_view_snapshot_layer (GtkTextView      *view,
                                   GtkTextViewLayer  layer,
                                   GtkSnapshot      *snapshot)
{
  TandemSourceView *self = TANDEM_SOURCE_VIEW (view);

  GTK_TEXT_VIEW_CLASS (tandem_source_view_parent_class)->snapshot_layer (view, layer, snapshot);
  if (layer == GTK_TEXT_VIEW_LAYER_BELOW_TEXT)
    {
      for (guint i = 0; i < self->cursors->len; i++)
        {
          TandemRemoteCursor *cursor = g_ptr_array_index (self->cursors, i);

          if (cursor->anchor != cursor->pos)
            snapshot_selection (view, snapshot, cursor);
        }
    }
  else
    {
      for (guint i = 0; i < self->cursors->len; i++)
        snapshot_caret (view, snapshot, g_ptr_array_index (self->cursors, i));
    }
}

static void
tandem_source_view_finalize (GObject *object)
{
  g_ptr_array_unref (TANDEM_SOURCE_VIEW (object)->cursors);
  G_OBJECT_CLASS (tandem_source_view_parent_class)->finalize (object);
}

static void
tandem_source_view_class_init (TandemSourceViewClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tandem_source_view_finalize;
  GTK_TEXT_VIEW_CLASS (klass)->snapshot_layer = tandem_source_view_snapshot_layer;
}

static void
tandem_source_view_init (TandemSourceView *self)
{
  self->cursors = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_remote_cursor_free);
}

/**
 * tandem_source_view_set_remote_cursors:
 * @cursors: (element-type TandemRemoteCursor) (transfer none): the
 *   members' cursors now; copied
 */
void
tandem_source_view_set_remote_cursors (TandemSourceView *self,
                                       GPtrArray        *cursors)
{
  int length = gtk_text_buffer_get_char_count (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self)));

  g_return_if_fail (TANDEM_IS_SOURCE_VIEW (self));

  g_ptr_array_set_size (self->cursors, 0);
  for (guint i = 0; cursors && i < cursors->len; i++)
    {
      TandemRemoteCursor *from = g_ptr_array_index (cursors, i);
      TandemRemoteCursor *copy = g_new0 (TandemRemoteCursor, 1);

      copy->name = g_strdup (from->name);
      copy->colour = from->colour;
      copy->pos = CLAMP (from->pos, 0, length);
      copy->anchor = CLAMP (from->anchor, 0, length);
      g_ptr_array_add (self->cursors, copy);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
tandem_source_view_get_n_remote_cursors (TandemSourceView *self)
{
  g_return_val_if_fail (TANDEM_IS_SOURCE_VIEW (self), 0);
  return self->cursors->len;
}
