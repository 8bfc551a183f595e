/* tandem-field-table.h: the structured fields of a note
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-event.h"

G_BEGIN_DECLS

/**
 * TandemFieldPolicy:
 * @TANDEM_FIELD_POLICY_LWW: the latest write wins, by (Lamport time, peer)
 * @TANDEM_FIELD_POLICY_MANUAL: concurrent writes of different values are a
 *   conflict for the user to settle
 * @TANDEM_FIELD_POLICY_SET: an add-wins observed-remove set of strings
 *
 * How a field is read. Registers (lww and manual) share one state, so a
 * field can switch between them without migrating anything.
 */
typedef enum
{
  TANDEM_FIELD_POLICY_LWW,
  TANDEM_FIELD_POLICY_MANUAL,
  TANDEM_FIELD_POLICY_SET,
} TandemFieldPolicy;

/* One write that no other delivered write dominates. */
typedef struct
{
  TandemEventId id;
  guint64 lamport;
  TandemVersionVector *clock;   /* the writer's version, including this write */
  GVariant *value;              /* NULL: the field was unset */
} TandemFieldWrite;

typedef struct _TandemFieldTable TandemFieldTable;

TandemFieldTable *tandem_field_table_new           (void);
void              tandem_field_table_free          (TandemFieldTable *self);
void              tandem_field_table_apply         (TandemFieldTable          *self,
                                                    const TandemEvent         *event,
                                                    const TandemVersionVector *clock);
GPtrArray        *tandem_field_table_get_live      (TandemFieldTable *self,
                                                    const char       *field);
const TandemFieldWrite *
                  tandem_field_table_get_winner    (TandemFieldTable *self,
                                                    const char       *field);
GPtrArray        *tandem_field_table_dup_values    (TandemFieldTable *self,
                                                    const char       *field);
GPtrArray        *tandem_field_table_dup_set       (TandemFieldTable *self,
                                                    const char       *field);
GArray           *tandem_field_table_dup_adds      (TandemFieldTable *self,
                                                    const char       *field,
                                                    const char       *elem);
GPtrArray        *tandem_field_table_dup_names     (TandemFieldTable *self);

const char       *tandem_field_policy_to_string    (TandemFieldPolicy policy);
gboolean          tandem_field_policy_from_string  (const char        *str,
                                                    TandemFieldPolicy *policy);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemFieldTable, tandem_field_table_free)

G_END_DECLS
