/* tandem-note-private.h: what the files of TandemNote share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-event-graph.h"
#include "tandem-note.h"
#include "tandem-op-log.h"
#include "tandem-rope.h"
#include "tandem-undo-stack.h"

G_BEGIN_DECLS

#define UNDO_DEPTH 200

struct _TandemNote
{
  GObject parent_instance;

  guint64 peer_id;
  TandemEventGraph *graph;
  TandemOpLog *ops;
  TandemRope *doc;
  TandemFieldTable *fields;
  GHashTable *field_events;     /* lv -> TandemEvent */
  GHashTable *policies;         /* name -> TandemFieldPolicy */
  guint64 lamport;
  GPtrArray *pending;           /* TandemEvent */
  GHashTable *pending_ids;      /* the same, by (peer, seq, len): a hostile
                                 * peer can leave 20,000 runs waiting */

  TandemUndoStack *undo_stack;
  TandemUndoStack *redo_stack;
  guint user_action_depth;
  gboolean action_started;      /* the current user action has a step */
  enum { RECORD_EDIT, RECORD_UNDO, RECORD_REDO } record_mode;
};

typedef struct
{
  TandemNote *note;
  gboolean notify;
} ApplyData;

void         _tandem_note_apply_to_doc     (TandemOpKind        kind,
                                            guint32             pos,
                                            guint32             len,
                                            const char         *text,
                                            gsize               n_bytes,
                                            gpointer            user_data);
void         _tandem_note_emit_inserted    (TandemNote         *self,
                                            guint               pos,
                                            const char         *text,
                                            guint               len);
void         _tandem_note_emit_deleted     (TandemNote         *self,
                                            guint               pos,
                                            guint               len);
gboolean     _tandem_note_parents_to_lvs   (TandemNote         *self,
                                            const TandemEvent  *event,
                                            guint32            *lvs);
gboolean     _tandem_note_parents_known    (TandemNote         *self,
                                            const TandemEvent  *event);
gboolean     _tandem_note_check_own_chain  (TandemNote         *self,
                                            const TandemEvent  *event,
                                            const guint32      *lvs,
                                            GError            **error);
gboolean     _tandem_note_integrate        (TandemNote         *self,
                                            TandemEvent        *event,
                                            gboolean            notify,
                                            GError            **error);
gboolean     _tandem_note_is_pending       (TandemNote         *self,
                                            const TandemEvent  *event);
void         _tandem_note_add_pending      (TandemNote         *self,
                                            TandemEvent        *event);
void         _tandem_note_remove_pending   (TandemNote         *self,
                                            guint               index);
TandemEvent *_tandem_note_local_text       (TandemNote         *self,
                                            TandemOpKind        kind,
                                            guint32             pos,
                                            guint32             len,
                                            const char         *text,
                                            const char         *deleted);
void         _tandem_note_record_step      (TandemNote         *self,
                                            TandemEvent        *event,
                                            const char         *deleted);

G_END_DECLS
