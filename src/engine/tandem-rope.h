/* tandem-rope.h: the current text of a note, indexed by code point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TandemRope TandemRope;

TandemRope *tandem_rope_new             (void);
void        tandem_rope_free            (TandemRope *self);
TandemRope *tandem_rope_copy            (const TandemRope *self);
gsize       tandem_rope_get_length      (const TandemRope *self);
void        tandem_rope_insert          (TandemRope *self,
                                         gsize       pos,
                                         const char *utf8,
                                         gsize       n_chars);
void        tandem_rope_delete          (TandemRope *self,
                                         gsize       pos,
                                         gsize       n_chars);
gunichar    tandem_rope_get_char        (TandemRope *self,
                                         gsize       pos);
char       *tandem_rope_dup_utf8        (TandemRope *self,
                                         gsize       pos,
                                         gsize       n_chars);
gsize       tandem_rope_get_memory_size (const TandemRope *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemRope, tandem_rope_free)

G_END_DECLS
