/* tandem-gap-buffer.h: the current text of a note, indexed by code point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TandemGapBuffer TandemGapBuffer;

TandemGapBuffer *tandem_gap_buffer_new         (void);
void             tandem_gap_buffer_free        (TandemGapBuffer *self);
TandemGapBuffer *tandem_gap_buffer_copy        (const TandemGapBuffer *self);
gsize            tandem_gap_buffer_get_length  (const TandemGapBuffer *self);
void             tandem_gap_buffer_insert      (TandemGapBuffer *self,
                                                gsize            pos,
                                                const char      *utf8,
                                                gsize            n_chars);
void             tandem_gap_buffer_delete      (TandemGapBuffer *self,
                                                gsize            pos,
                                                gsize            n_chars);
gunichar         tandem_gap_buffer_get_char    (const TandemGapBuffer *self,
                                                gsize                  pos);
char            *tandem_gap_buffer_dup_utf8    (const TandemGapBuffer *self,
                                                gsize                  pos,
                                                gsize                  n_chars);
gsize            tandem_gap_buffer_get_memory_size (const TandemGapBuffer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemGapBuffer, tandem_gap_buffer_free)

G_END_DECLS
