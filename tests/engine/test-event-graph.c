/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "tandem-event-graph.h"

/*   0-1-2 (peer 1)      a run of three
 *    \
 *     3-4 (peer 2)      branches off after 0
 *          5 (peer 1)   merges 2 and 4        */
static TandemEventGraph *
make_diamond (void)
{
  TandemEventGraph *g = tandem_event_graph_new ();
  guint32 p0 = 0, merge[] = { 2, 4 };

  g_assert_cmpuint (tandem_event_graph_add (g, 1, 0, 3, NULL, 0), ==, 0);
  g_assert_cmpuint (tandem_event_graph_add (g, 2, 0, 2, &p0, 1), ==, 3);
  g_assert_cmpuint (tandem_event_graph_add (g, 1, 3, 1, merge, 2), ==, 5);
  return g;
}

static void
test_runs_and_ids (void)
{
  g_autoptr(TandemEventGraph) g = make_diamond ();
  TandemEventId id = { 2, 1 };
  TandemEventId missing = { 2, 2 };
  guint n;
  guint32 start;
  const guint32 *parents;

  g_assert_cmpuint (tandem_event_graph_get_length (g), ==, 6);
  g_assert_cmpuint (tandem_event_graph_get_n_runs (g), ==, 3);
  g_assert_cmpuint (tandem_event_graph_find (g, &id), ==, 4);
  g_assert_cmpuint (tandem_event_graph_find (g, &missing), ==, TANDEM_LV_NONE);
  id = tandem_event_graph_get_id (g, 2);
  g_assert_cmpuint (id.peer, ==, 1);
  g_assert_cmpuint (id.seq, ==, 2);
  parents = tandem_event_graph_get_parents (g, 4, &n, &start);
  g_assert_cmpuint (start, ==, 3);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (parents[0], ==, 0);
  parents = tandem_event_graph_get_frontier (g, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (parents[0], ==, 5);
  g_assert_cmpuint (tandem_version_vector_get (tandem_event_graph_get_version (g), 1), ==, 4);
}

static void
test_extend_run (void)
{
  g_autoptr(TandemEventGraph) g = tandem_event_graph_new ();
  guint32 p = 1;

  tandem_event_graph_add (g, 9, 0, 2, NULL, 0);
  tandem_event_graph_add (g, 9, 2, 5, &p, 1);
  g_assert_cmpuint (tandem_event_graph_get_n_runs (g), ==, 1);
  g_assert_cmpuint (tandem_event_graph_get_run_end (g, 3), ==, 7);
}

static void
test_diff (void)
{
  g_autoptr(TandemEventGraph) g = make_diamond ();
  g_autoptr(GArray) only_a = g_array_new (FALSE, FALSE, sizeof (TandemLvRange));
  g_autoptr(GArray) only_b = g_array_new (FALSE, FALSE, sizeof (TandemLvRange));
  guint32 a = 2, b = 4;
  TandemLvRange *r;

  tandem_event_graph_diff (g, &a, 1, &b, 1, only_a, only_b);
  g_assert_cmpuint (only_a->len, ==, 1);
  r = &g_array_index (only_a, TandemLvRange, 0);
  g_assert_cmpuint (r->start, ==, 1);
  g_assert_cmpuint (r->end, ==, 3);
  g_assert_cmpuint (only_b->len, ==, 1);
  r = &g_array_index (only_b, TandemLvRange, 0);
  g_assert_cmpuint (r->start, ==, 3);
  g_assert_cmpuint (r->end, ==, 5);

  /* an ancestor has nothing the descendant lacks */
  g_array_set_size (only_a, 0);
  g_array_set_size (only_b, 0);
  a = 1;
  b = 5;
  tandem_event_graph_diff (g, &a, 1, &b, 1, only_a, only_b);
  g_assert_cmpuint (only_a->len, ==, 0);
  /* 2, 3-4 and 5 come out as one range, as neighbours coalesce */
  g_assert_cmpuint (only_b->len, ==, 1);
  r = &g_array_index (only_b, TandemLvRange, 0);
  g_assert_cmpuint (r->start, ==, 2);
  g_assert_cmpuint (r->end, ==, 6);
}

static void
test_dominator_and_ancestry (void)
{
  g_autoptr(TandemEventGraph) g = make_diamond ();
  guint32 heads[] = { 2, 4 };
  g_autoptr(TandemVersionVector) vv = NULL;

  g_assert_cmpuint (tandem_event_graph_find_dominator (g, heads, 2), ==, 0);
  g_assert_true (tandem_event_graph_is_ancestor (g, 0, 4));
  g_assert_false (tandem_event_graph_is_ancestor (g, 1, 4));
  g_assert_true (tandem_event_graph_is_ancestor (g, 3, 5));

  vv = tandem_event_graph_version_at (g, heads + 1, 1);
  g_assert_cmpuint (tandem_version_vector_get (vv, 1), ==, 1);
  g_assert_cmpuint (tandem_version_vector_get (vv, 2), ==, 2);
}

static void
test_truncate (void)
{
  g_autoptr(TandemEventGraph) g = make_diamond ();
  guint n;
  const guint32 *f;

  tandem_event_graph_truncate (g, 5);
  f = tandem_event_graph_get_frontier (g, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (f[0], ==, 2);
  g_assert_cmpuint (f[1], ==, 4);
  g_assert_cmpuint (tandem_version_vector_get (tandem_event_graph_get_version (g), 1), ==, 3);
  tandem_event_graph_truncate (g, 2);
  f = tandem_event_graph_get_frontier (g, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (f[0], ==, 1);
  g_assert_cmpuint (tandem_version_vector_get (tandem_event_graph_get_version (g), 2), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/event-graph/runs-and-ids", test_runs_and_ids);
  g_test_add_func ("/engine/event-graph/extend-run", test_extend_run);
  g_test_add_func ("/engine/event-graph/diff", test_diff);
  g_test_add_func ("/engine/event-graph/dominator-and-ancestry", test_dominator_and_ancestry);
  g_test_add_func ("/engine/event-graph/truncate", test_truncate);
  return g_test_run ();
}
