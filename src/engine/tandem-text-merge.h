/* tandem-text-merge.h: Eg-walker replay of concurrent text events
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-event-graph.h"
#include "tandem-op-log.h"

G_BEGIN_DECLS

/**
 * TandemTextEmitFunc:
 * @kind: %TANDEM_OP_INSERT or %TANDEM_OP_DELETE_FORWARD
 * @pos: code point offset in the current document
 * @len: code points inserted or deleted
 * @text: (nullable): for an insert, @len characters of UTF-8 (not nul-terminated)
 *
 * Receives the transformed operations, in order, as the merge makes them.
 */
typedef void (*TandemTextEmitFunc) (TandemOpKind  kind,
                                    guint32       pos,
                                    guint32       len,
                                    const char   *text,
                                    gsize         n_bytes,
                                    gpointer      user_data);

gboolean tandem_text_merge (const TandemEventGraph *graph,
                            TandemOpLog            *ops,
                            const guint32          *old_frontier,
                            guint                   n_old_frontier,
                            guint32                 emit_from,
                            TandemTextEmitFunc      emit,
                            gpointer                user_data,
                            guint32                *failed_lv,
                            GError                **error);

G_END_DECLS
