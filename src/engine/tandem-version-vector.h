/* tandem-version-vector.h: event ids and version vectors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TandemEventId:
 * @peer: the 64-bit id of the peer that made the event
 * @seq: the peer's sequence number of the event, counting from 0
 *
 * Identifies one event (one code point inserted or deleted, or one field write)
 * in a note's causal history. Ids order by @peer, then @seq; the lower id goes
 * left when concurrent inserts tie.
 */
typedef struct
{
  guint64 peer;
  guint64 seq;
} TandemEventId;

int tandem_event_id_compare (const TandemEventId *a,
                             const TandemEventId *b);

/**
 * TandemVersionVector:
 *
 * Maps each peer to the number of its events seen. Because every peer makes
 * its events on its own latest version, a version vector describes a set of
 * events exactly. Kept as a sorted array; notes rarely have more than a few
 * dozen peers.
 */
typedef struct _TandemVersionVector TandemVersionVector;

typedef struct
{
  guint64 peer;
  guint64 count;
} TandemVersionEntry;

TandemVersionVector *tandem_version_vector_new        (void);
TandemVersionVector *tandem_version_vector_copy       (const TandemVersionVector *self);
void                 tandem_version_vector_free       (TandemVersionVector *self);
guint64              tandem_version_vector_get        (const TandemVersionVector *self,
                                                       guint64                    peer);
void                 tandem_version_vector_set        (TandemVersionVector *self,
                                                       guint64              peer,
                                                       guint64              count);
void                 tandem_version_vector_merge      (TandemVersionVector       *self,
                                                       const TandemVersionVector *other);
guint                tandem_version_vector_get_size   (const TandemVersionVector *self);
const TandemVersionEntry *
                     tandem_version_vector_get_entry  (const TandemVersionVector *self,
                                                       guint                      i);
gboolean             tandem_version_vector_contains   (const TandemVersionVector *self,
                                                       const TandemEventId       *id);
gboolean             tandem_version_vector_leq        (const TandemVersionVector *a,
                                                       const TandemVersionVector *b);
gboolean             tandem_version_vector_equal      (const TandemVersionVector *a,
                                                       const TandemVersionVector *b);
gboolean             tandem_version_vector_dominates  (const TandemVersionVector *a,
                                                       const TandemVersionVector *b);
guint64              tandem_version_vector_total      (const TandemVersionVector *self);
char                *tandem_version_vector_to_string  (const TandemVersionVector *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemVersionVector, tandem_version_vector_free)

G_END_DECLS
