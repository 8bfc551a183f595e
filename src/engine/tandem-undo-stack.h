/* tandem-undo-stack.h: a peer's own edits, grouped into undoable actions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-op-log.h"

G_BEGIN_DECLS

/* One of this peer's text runs, as undo needs it. */
typedef struct
{
  guint32 lv;
  guint32 len;
  TandemOpKind kind;      /* INSERT, DELETE_FORWARD or DELETE_BACKWARD */
  guint32 pos;
  GString *deleted;       /* for a delete: the text it removed, in document order */
} TandemUndoStep;

typedef enum
{
  TANDEM_UNDO_NEW_GROUP,      /* the step starts an action */
  TANDEM_UNDO_JOIN_GROUP,     /* the step belongs to the action before */
  TANDEM_UNDO_COALESCE,       /* continue the last typed run, or start an action */
} TandemUndoPush;

typedef struct _TandemUndoStack TandemUndoStack;

TandemUndoStack *tandem_undo_stack_new       (guint depth);
void             tandem_undo_stack_free      (TandemUndoStack *self);
gboolean         tandem_undo_stack_is_empty  (TandemUndoStack *self);
void             tandem_undo_stack_clear     (TandemUndoStack *self);
void             tandem_undo_stack_push      (TandemUndoStack *self,
                                              guint32          lv,
                                              guint32          len,
                                              TandemOpKind     kind,
                                              guint32          pos,
                                              const char      *deleted,
                                              TandemUndoPush   how);
void             tandem_undo_stack_seal      (TandemUndoStack *self);
GArray          *tandem_undo_stack_pop_group (TandemUndoStack *self);
void             tandem_undo_steps_free      (GArray *steps);
void             tandem_undo_stack_save      (TandemUndoStack  *self,
                                              GByteArray       *out);
gboolean         tandem_undo_stack_load      (TandemUndoStack  *self,
                                              const guint8    **p,
                                              const guint8     *end,
                                              guint32           n_events);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemUndoStack, tandem_undo_stack_free)

G_END_DECLS
