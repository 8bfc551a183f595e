/* tandem-event.h: a run of events as peers exchange them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tandem-op-log.h"
#include "tandem-version-vector.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_EVENT (tandem_event_get_type ())

typedef enum
{
  TANDEM_FIELD_OP_SET,      /* value, or NULL for "unset" */
  TANDEM_FIELD_OP_ADD,      /* value is the element (a string) */
  TANDEM_FIELD_OP_REMOVE,   /* value is the element; observed are the adds it removes */
} TandemFieldOp;

/* Limits on what a peer may send; generous for notes, small for abuse. */
#define TANDEM_EVENT_MAX_PARENTS 64
#define TANDEM_EVENT_MAX_LEN (1u << 24)
#define TANDEM_FIELD_NAME_MAX 64
#define TANDEM_FIELD_VALUE_MAX 4096

/**
 * TandemEvent:
 * @peer: author of the first event
 * @seq: seq of the first event; the run is @seq .. @seq + @len - 1
 * @parents: the version the first event was made on
 * @kind: what the events do
 * @pos: code point position in the text at @parents
 * @len: number of events (code points for text, 1 for a field write)
 * @text: for %TANDEM_OP_INSERT, exactly @len code points of UTF-8
 * @field: for %TANDEM_OP_FIELD, the field's name
 * @field_op: for %TANDEM_OP_FIELD, the kind of write
 * @value: the value written, or %NULL for an unset
 * @lamport: for %TANDEM_OP_FIELD, the write's Lamport time
 * @observed: for %TANDEM_FIELD_OP_REMOVE, the add events removed
 *
 * Immutable once made; shared by reference.
 */
typedef struct
{
  guint64 peer;
  guint64 seq;
  TandemEventId *parents;
  guint n_parents;
  TandemOpKind kind;
  guint32 pos;
  guint32 len;
  char *text;
  char *field;
  TandemFieldOp field_op;
  GVariant *value;
  guint64 lamport;
  TandemEventId *observed;
  guint n_observed;
  /*< private >*/
  gint ref_count;
} TandemEvent;

GType        tandem_event_get_type      (void) G_GNUC_CONST;
TandemEvent *tandem_event_new_text      (guint64              peer,
                                         guint64              seq,
                                         const TandemEventId *parents,
                                         guint                n_parents,
                                         TandemOpKind         kind,
                                         guint32              pos,
                                         guint32              len,
                                         const char          *text);
TandemEvent *tandem_event_new_field     (guint64              peer,
                                         guint64              seq,
                                         const TandemEventId *parents,
                                         guint                n_parents,
                                         const char          *field,
                                         TandemFieldOp        op,
                                         GVariant            *value,
                                         guint64              lamport,
                                         const TandemEventId *observed,
                                         guint                n_observed);
TandemEvent *tandem_event_ref           (TandemEvent *self);
void         tandem_event_unref         (TandemEvent *self);
gboolean     tandem_event_validate      (const TandemEvent *self,
                                         GError           **error);
TandemEvent *tandem_event_slice         (const TandemEvent *self,
                                         guint32            offset,
                                         guint32            len);
gboolean     tandem_event_equal         (const TandemEvent *a,
                                         const TandemEvent *b);
char        *tandem_event_to_string     (const TandemEvent *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemEvent, tandem_event_unref)

G_END_DECLS
