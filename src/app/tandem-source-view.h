/* tandem-source-view.h: the note's text view, with the other members' carets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtksourceview/gtksource.h>

G_BEGIN_DECLS

/**
 * TandemRemoteCursor:
 * @name: whose it is
 * @colour: their colour
 * @pos: the caret, a character offset
 * @anchor: the other end of their selection (== @pos when none)
 */
typedef struct
{
  char *name;
  GdkRGBA colour;
  int pos;
  int anchor;
} TandemRemoteCursor;

void tandem_remote_cursor_free (TandemRemoteCursor *cursor);

#define TANDEM_TYPE_SOURCE_VIEW (tandem_source_view_get_type ())

G_DECLARE_FINAL_TYPE (TandemSourceView, tandem_source_view, TANDEM, SOURCE_VIEW, GtkSourceView)

void tandem_source_view_set_remote_cursors (TandemSourceView *self,
                                            GPtrArray        *cursors);
guint tandem_source_view_get_n_remote_cursors (TandemSourceView *self);

G_END_DECLS
