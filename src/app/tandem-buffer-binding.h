/* tandem-buffer-binding.h: a GtkTextBuffer that edits a note
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "tandem-peer.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_BUFFER_BINDING (tandem_buffer_binding_get_type ())

G_DECLARE_FINAL_TYPE (TandemBufferBinding, tandem_buffer_binding, TANDEM, BUFFER_BINDING, GObject)

TandemBufferBinding *tandem_buffer_binding_new      (TandemPeer          *peer,
                                                     GtkTextBuffer       *buffer);
void                 tandem_buffer_binding_set_note (TandemBufferBinding *self,
                                                     TandemSavedNote     *saved);
void                 tandem_buffer_binding_flush    (TandemBufferBinding *self);
gboolean             tandem_buffer_binding_undo     (TandemBufferBinding *self,
                                                     gboolean             redo);

G_END_DECLS
