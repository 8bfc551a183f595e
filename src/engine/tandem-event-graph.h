/* tandem-event-graph.h: the causal graph of a note's events
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tandem-version-vector.h"

G_BEGIN_DECLS

/*
 * Every event a peer has integrated gets a *local version* (lv): its index in
 * this peer's log, which is in arrival order and therefore topological. The
 * graph stores events as runs: a run is a stretch of consecutive lvs by one
 * peer with consecutive seqs in which every event but the first has the one
 * before it as its only parent, so a typed word or a paste costs one run, not
 * one struct per character.
 */

#define TANDEM_LV_NONE G_MAXUINT32

typedef struct _TandemEventGraph TandemEventGraph;

/* A half-open range of local versions, [start, end). */
typedef struct
{
  guint32 start;
  guint32 end;
} TandemLvRange;

TandemEventGraph *tandem_event_graph_new            (void);
void              tandem_event_graph_free           (TandemEventGraph *self);

guint32           tandem_event_graph_get_length     (const TandemEventGraph *self);
guint32           tandem_event_graph_add            (TandemEventGraph *self,
                                                     guint64           peer,
                                                     guint64           seq,
                                                     guint32           len,
                                                     const guint32    *parents,
                                                     guint             n_parents);
void              tandem_event_graph_truncate       (TandemEventGraph *self,
                                                     guint32           length);

guint32           tandem_event_graph_find           (const TandemEventGraph *self,
                                                     const TandemEventId    *id);
TandemEventId     tandem_event_graph_get_id         (const TandemEventGraph *self,
                                                     guint32                 lv);
const guint32    *tandem_event_graph_get_parents    (const TandemEventGraph *self,
                                                     guint32                 lv,
                                                     guint                  *n_parents,
                                                     guint32                *run_start);
guint32           tandem_event_graph_get_run_end    (const TandemEventGraph *self,
                                                     guint32                 lv);

const guint32    *tandem_event_graph_get_frontier   (const TandemEventGraph *self,
                                                     guint                  *n_frontier);
const TandemVersionVector *
                  tandem_event_graph_get_version    (const TandemEventGraph *self);
gboolean          tandem_event_graph_frontier_equals (const TandemEventGraph *self,
                                                      const guint32          *lvs,
                                                      guint                   n_lvs);

void              tandem_event_graph_diff           (const TandemEventGraph *self,
                                                     const guint32          *a,
                                                     guint                   n_a,
                                                     const guint32          *b,
                                                     guint                   n_b,
                                                     GArray                 *only_a,
                                                     GArray                 *only_b);
guint32           tandem_event_graph_find_dominator (const TandemEventGraph *self,
                                                     const guint32          *heads,
                                                     guint                   n_heads);
TandemVersionVector *
                  tandem_event_graph_version_at     (const TandemEventGraph *self,
                                                     const guint32          *lvs,
                                                     guint                   n_lvs);
gboolean          tandem_event_graph_is_ancestor    (const TandemEventGraph *self,
                                                     guint32                 ancestor,
                                                     guint32                 lv);
guint             tandem_event_graph_get_n_runs     (const TandemEventGraph *self);
gsize             tandem_event_graph_get_memory_size (const TandemEventGraph *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TandemEventGraph, tandem_event_graph_free)

G_END_DECLS
