/* Compiled O(n) kernels of the metric panel's all-threshold sweeps.
 *
 * Each function here has a NumPy twin that stays the readable, tested reference
 * (table.py, range_based.py, affiliation.py call one or the other, see kernels.py);
 * tests/test_metric_kernels.py checks that both give the same numbers.  Arrays come in
 * through the buffer protocol (C-contiguous, dtypes fixed by those callers), so this file
 * needs only Python.h, not NumPy's headers.  Loops run without the GIL.
 *
 *   rank_table, rank_lookup
 *                     from NumPy's sort of the scores: the distinct values, their counts
 *                     and each point's rank (a bucketed lookup)
 *   range_counts      range recall, and the predicted runs of every threshold (component
 *                     tree of the ranks, one stack pass) for precision
 *   affiliation       per flagged piece, its precision integral and its recall gain, summed
 *                     over the thresholds that flag it
 *   pa_k_counts       PA%K true positives, K = 0..100, from histograms of ranks
 *   f1_scores         F1 of that table
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Large work arrays on transparent huge pages where the system allows it: the sweeps read and
 * write them at random, and 4 KiB pages would make most of those accesses TLB misses. */
static void *big_alloc(size_t bytes)
{
#ifdef MADV_HUGEPAGE
    if (bytes >= ((size_t)4 << 20)) {
        size_t huge = (size_t)2 << 20, rounded = (bytes + huge - 1) / huge * huge;
        void *p = NULL;
        if (posix_memalign(&p, huge, rounded) == 0) {
            madvise(p, rounded, MADV_HUGEPAGE);
            return p;
        }
        return NULL;
    }
#endif
    return malloc(bytes);
}

static int check_size(Py_buffer *view, Py_ssize_t count, Py_ssize_t item, const char *name)
{
    if (view->len != count * item) {
        PyErr_Format(PyExc_ValueError, "kernel argument %s: %zd bytes, expected %zd", name, view->len, count * item);
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------------------- ranks */

/* float64 -> uint64 with the same order; -0.0 and 0.0 map to one key (they are equal scores). */
static inline uint64_t order_key(double value)
{
    uint64_t bits;
    if (value == 0.0)
        value = 0.0;
    memcpy(&bits, &value, sizeof bits);
    return (bits >> 63) ? ~bits : (bits | 0x8000000000000000ULL);
}

#define LOOKUP_MAX_BITS 24 /* the caller sizes the table: 2**bits + 2 entries, bits <= this */
#define LOOKUP_BATCH 64

/* From the scores sorted in two ascending parts (NumPy sorts the halves on two threads; the
 * second part may be empty): the distinct values, merged, with how many points have each,
 * and a lookup table for ``rank_lookup``: bucket b holds the distinct values whose order
 * key, minus the lowest, shifted right by ``shift``, is b (an order-preserving, roughly
 * logarithmic bucketing, so skewed score distributions spread too); buckets[b] is the
 * first of them.  Returns (m, shift). */
static PyObject *rank_table(PyObject *self, PyObject *args)
{
    Py_buffer first_view, second_view, distinct_view, total_view, buckets_view;
    Py_ssize_t n_first, n_second;
    if (!PyArg_ParseTuple(args, "nny*y*w*w*w*", &n_first, &n_second, &first_view, &second_view, &distinct_view,
                          &total_view, &buckets_view))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = n_first + n_second;
    if (check_size(&first_view, n_first, 8, "first") || check_size(&second_view, n_second, 8, "second") ||
        check_size(&distinct_view, n, 8, "distinct") || check_size(&total_view, n, 8, "total"))
        goto done;
    int max_bits = 1;
    while (max_bits < LOOKUP_MAX_BITS && (((Py_ssize_t)1 << max_bits) + 2) * 4 < buckets_view.len)
        max_bits++;
    if (check_size(&buckets_view, ((Py_ssize_t)1 << max_bits) + 2, 4, "buckets (2**bits + 2 entries)"))
        goto done;
    if (n_first < 0 || n_second < 0 || n < 1 || n >= ((Py_ssize_t)1 << 31)) {
        PyErr_SetString(PyExc_ValueError, "rank_table: n must be between 1 and 2**31 - 1");
        goto done;
    }
    const double *first = first_view.buf, *second = second_view.buf;
    double *distinct = distinct_view.buf;
    int64_t *total = total_view.buf;
    int32_t *bucket_first = buckets_view.buf;
    Py_ssize_t m = 0;
    int shift;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t i = 0, j = 0;
    while (i < n_first || j < n_second) { /* merge, counting equal values once */
        double x = (j >= n_second || (i < n_first && first[i] <= second[j])) ? first[i++] : second[j++];
        if (m == 0 || x != distinct[m - 1]) {
            distinct[m] = x == 0.0 ? 0.0 : x;
            total[m++] = 0;
        }
        total[m - 1]++;
    }
    uint64_t lowest = order_key(distinct[0]), span = order_key(distinct[m - 1]) - lowest;
    int span_bits = span ? 64 - __builtin_clzll(span) : 0, bucket_bits = 1;
    while (bucket_bits < max_bits && ((Py_ssize_t)1 << bucket_bits) < 2 * m)
        bucket_bits++;
    shift = span_bits > bucket_bits ? span_bits - bucket_bits : 0;
    Py_ssize_t n_buckets = (Py_ssize_t)(span >> shift) + 1, b = 0;
    for (Py_ssize_t d = 0; d < m; d++) { /* bucket_first[b] = first distinct index in bucket >= b */
        Py_ssize_t bucket = (Py_ssize_t)((order_key(distinct[d]) - lowest) >> shift);
        while (b <= bucket)
            bucket_first[b++] = (int32_t)d;
    }
    while (b <= n_buckets)
        bucket_first[b++] = (int32_t)m;
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("ni", m, shift);
done:
    PyBuffer_Release(&first_view);
    PyBuffer_Release(&second_view);
    PyBuffer_Release(&distinct_view);
    PyBuffer_Release(&total_view);
    PyBuffer_Release(&buckets_view);
    return result;
}

/* The rank (index in distinct) of the points begin..end-1: its bucket, then a branch-free
 * lower bound inside it.  In batches: first every bucket's bounds are fetched, then the
 * first candidate values, then searched; a search's branches then wait on cached data
 * only.  Two threads may fill disjoint ranges of ``ranks`` at once. */
static PyObject *rank_lookup(PyObject *self, PyObject *args)
{
    Py_buffer scores_view, distinct_view, buckets_view, ranks_view;
    Py_ssize_t n, m, begin, end;
    int shift;
    if (!PyArg_ParseTuple(args, "nninny*y*y*w*", &n, &m, &shift, &begin, &end, &scores_view, &distinct_view,
                          &buckets_view, &ranks_view))
        return NULL;
    PyObject *result = NULL;
    if (check_size(&scores_view, n, 8, "scores") || check_size(&distinct_view, m, 8, "distinct") ||
        check_size(&ranks_view, n, 4, "ranks"))
        goto done;
    if (m < 1 || begin < 0 || end > n || begin > end || shift < 0 || shift > 63 || buckets_view.len < 8) {
        PyErr_SetString(PyExc_ValueError, "rank_lookup: bad range or table");
        goto done;
    }
    const double *value = scores_view.buf, *distinct = distinct_view.buf;
    const int32_t *bucket_first = buckets_view.buf;
    int32_t *rank = ranks_view.buf;
    Py_BEGIN_ALLOW_THREADS
    uint64_t lowest = order_key(distinct[0]);
    for (Py_ssize_t start = begin; start < end; start += LOOKUP_BATCH) {
        Py_ssize_t count = end - start < LOOKUP_BATCH ? end - start : LOOKUP_BATCH;
        Py_ssize_t bucket[LOOKUP_BATCH];
        int32_t lo[LOOKUP_BATCH], hi[LOOKUP_BATCH];
        for (Py_ssize_t j = 0; j < count; j++) {
            bucket[j] = (Py_ssize_t)((order_key(value[start + j]) - lowest) >> shift);
            __builtin_prefetch(&bucket_first[bucket[j]]);
        }
        for (Py_ssize_t j = 0; j < count; j++) {
            lo[j] = bucket_first[bucket[j]];
            hi[j] = bucket_first[bucket[j] + 1] - 1; /* the score is one of distinct[lo..hi] */
            __builtin_prefetch(&distinct[lo[j]]);
            __builtin_prefetch(&distinct[hi[j]]);
        }
        for (Py_ssize_t j = 0; j < count; j++) {
            double x = value[start + j];
            Py_ssize_t low = lo[j], size = hi[j] - lo[j] + 1;
            while (size > 1) { /* branch-free lower bound: low + half stays below x or not */
                Py_ssize_t half = size >> 1;
                low = distinct[low + half - 1] < x ? low + half : low;
                size -= half;
            }
            rank[start + j] = (int32_t)low;
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&scores_view);
    PyBuffer_Release(&distinct_view);
    PyBuffer_Release(&buckets_view);
    PyBuffer_Release(&ranks_view);
    return result;
}

/* --------------------------------------------------------------- range_counts */

/* Range-based statistics at every threshold index t = 0..m-1 (see range_based.py):
 * - recall_sum: each true segment's (1 - alpha_r) * flagged share + alpha_r * existence;
 * - n_runs: the predicted runs.  Their number at t is the number of points with
 *   rank[i-1] < t <= rank[i] (a run starts there): +1 / -1 per upward step;
 * - precision_sum: for a point i of rank v, the run it belongs to at threshold index v is
 *   the maximal interval around it with ranks >= v, between the nearest strictly smaller
 *   rank on each side.  A monotone stack (equal ranks merged) finds every such run once, when
 *   a smaller rank arrives; the run exists for thresholds boundary+1 .. level, boundary = the
 *   larger neighbouring rank.  Only runs with an anomalous point have a non-zero precision
 *   (the existence reward too), so only they are written: few scattered writes, not one per
 *   point.
 * All three are built as difference arrays (m + 1 long) and summed in place at the end. */
static PyObject *range_counts(PyObject *self, PyObject *args)
{
    Py_buffer ranks, labels, starts_view, ends_view, recall_view, precision_view, runs_view;
    Py_ssize_t n, m, n_segments;
    double alpha_recall, alpha_precision;
    if (!PyArg_ParseTuple(args, "nnny*y*y*y*ddw*w*w*", &n, &m, &n_segments, &ranks, &labels, &starts_view, &ends_view,
                          &alpha_recall, &alpha_precision, &recall_view, &precision_view, &runs_view))
        return NULL;
    PyObject *result = NULL;
    int32_t *stack = NULL, *stack_positive = NULL;
    if (check_size(&ranks, n, 4, "ranks") || check_size(&labels, n, 1, "labels") ||
        check_size(&starts_view, n_segments, 8, "starts") || check_size(&ends_view, n_segments, 8, "ends") ||
        check_size(&recall_view, m + 1, 8, "recall_sum") || check_size(&precision_view, m + 1, 8, "precision_sum") ||
        check_size(&runs_view, m + 1, 8, "n_runs"))
        goto done;
    if (n >= ((Py_ssize_t)1 << 31)) {
        PyErr_SetString(PyExc_ValueError, "range_counts: n must be below 2**31");
        goto done;
    }
    stack = malloc(sizeof(int32_t) * (n + 1));
    stack_positive = malloc(sizeof(int32_t) * (n + 1));
    if (!stack || !stack_positive) {
        PyErr_NoMemory();
        goto done;
    }
    const int32_t *rank = ranks.buf;
    const int8_t *label = labels.buf;
    const int64_t *starts = starts_view.buf, *ends = ends_view.buf;
    double *recall = recall_view.buf, *precision = precision_view.buf;
    int64_t *runs = runs_view.buf;
    Py_BEGIN_ALLOW_THREADS
    memset(recall, 0, sizeof(double) * (m + 1));
    memset(precision, 0, sizeof(double) * (m + 1));
    memset(runs, 0, sizeof(int64_t) * (m + 1));
    for (Py_ssize_t j = 0; j < n_segments; j++) { /* a point of rank r counts for thresholds 0..r */
        double weight = (1.0 - alpha_recall) / (double)(ends[j] - starts[j]);
        int32_t highest = -1;
        for (Py_ssize_t i = starts[j]; i < ends[j]; i++) {
            recall[0] += weight;
            recall[rank[i] + 1] -= weight;
            if (rank[i] > highest)
                highest = rank[i];
        }
        recall[0] += alpha_recall;
        recall[highest + 1] -= alpha_recall;
    }
    int32_t previous = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t v = rank[i];
        if (v > previous) {
            runs[previous + 1] += 1;
            runs[v + 1] -= 1;
        }
        previous = v;
    }
    Py_ssize_t top = -1;
    int32_t positives_before = 0; /* labels in [0, i) */
    for (Py_ssize_t i = 0; i <= n; i++) {
        int32_t v = i < n ? rank[i] : INT32_MIN; /* a sentinel closes every open run */
        while (top >= 0 && rank[stack[top]] > v) {
            int32_t level = rank[stack[top]];
            top--;
            int32_t positives_through_left = top >= 0 ? stack_positive[top] : 0;
            int32_t run_positive = positives_before - positives_through_left;
            if (run_positive == 0)
                continue; /* precision 0 for every threshold it exists at */
            Py_ssize_t left = top >= 0 ? stack[top] : -1;
            int32_t boundary = -1;
            if (left >= 0 && rank[left] > boundary)
                boundary = rank[left];
            if (i < n && rank[i] > boundary)
                boundary = rank[i];
            double value = alpha_precision + (1.0 - alpha_precision) * (double)run_positive / (double)(i - left - 1);
            precision[boundary + 1] += value;
            precision[level + 1] -= value;
        }
        if (i == n)
            break;
        /* an equal rank continues the run on the stack top; the entry then stands for its
         * latest point, the nearest smaller-or-equal neighbour of whatever opens after it */
        if (top < 0 || rank[stack[top]] < v)
            top++;
        stack[top] = (int32_t)i;
        stack_positive[top] = positives_before + label[i];
        positives_before += label[i];
    }
    for (Py_ssize_t t = 1; t <= m; t++) {
        recall[t] += recall[t - 1];
        precision[t] += precision[t - 1];
        runs[t] += runs[t - 1];
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(stack);
    free(stack_positive);
    PyBuffer_Release(&ranks);
    PyBuffer_Release(&labels);
    PyBuffer_Release(&starts_view);
    PyBuffer_Release(&ends_view);
    PyBuffer_Release(&recall_view);
    PyBuffer_Release(&precision_view);
    PyBuffer_Release(&runs_view);
    return result;
}

/* ---------------------------------------------------------------- affiliation */

/* Integral of Fp(dist(x, [a, b))) over [lo, hi] within the zone [e0, e1): see
 * affiliation._precision_integral (the same closed form). */
static double precision_integral(double lo, double hi, double a, double b, double e0, double e1)
{
    double size = e1 - e0, k_left = a + b - e1, k_right = a + b - e0, out = 0.0;
    double left_end = hi < a ? hi : a;
    if (left_end > lo) {
        double x0 = lo < a ? lo : a, x1 = left_end;
        double p0 = x0 - k_left > 0 ? x0 - k_left : 0.0, p1 = x1 - k_left > 0 ? x1 - k_left : 0.0;
        out += ((x1 - e0) * (x1 - e0) + p1 * p1 - (x0 - e0) * (x0 - e0) - p0 * p0) / (2 * size);
    }
    double right_start = lo > b ? lo : b;
    if (hi > right_start) {
        double x0 = right_start, x1 = hi > b ? hi : b;
        double q0 = k_right - x0 > 0 ? k_right - x0 : 0.0, q1 = k_right - x1 > 0 ? k_right - x1 : 0.0;
        out += (q0 * q0 + (e1 - x0) * (e1 - x0) - q1 * q1 - (e1 - x1) * (e1 - x1)) / (2 * size);
    }
    double inside = (hi < b ? hi : b) - (lo > a ? lo : a);
    return out + (inside > 0 ? inside : 0.0);
}

/* Fr_y(d(y)) at y, d the distance to the nearer of the predictions ending at `left` and
 * starting at `right` (+-inf when absent): see affiliation._gap_integral. */
static inline double survival(double y, double left, double right, double e0, double e1)
{
    double d = y - left < right - y ? y - left : right - y;
    double m = y - e0 < e1 - y ? y - e0 : e1 - y;
    return 1.0 - (d + (d < m ? d : m)) / (e1 - e0);
}

/* Integral of survival over y in [left, right] & [a, b] & [e0, e1]: continuous and piecewise
 * linear with at most four kinks, so the trapezoid rule over the kinks is exact. */
static double gap_integral(double left, double right, double a, double b, double e0, double e1)
{
    double lo = left > a ? left : a, hi = right < b ? right : b;
    if (e0 > lo)
        lo = e0;
    if (e1 < hi)
        hi = e1;
    if (!(hi > lo))
        return 0.0;
    double points[6] = {lo, hi};
    int count = 2;
    double kinks[4] = {(left + right) / 2, (e0 + e1) / 2, (left + e1) / 2, (right + e0) / 2};
    for (int k = 0; k < 4; k++)
        if (isfinite(kinks[k]) && kinks[k] > lo && kinks[k] < hi)
            points[count++] = kinks[k];
    for (int i = 1; i < count; i++) /* insertion sort of at most 6 points */
        for (int j = i; j > 0 && points[j - 1] > points[j]; j--) {
            double t = points[j];
            points[j] = points[j - 1];
            points[j - 1] = t;
        }
    double out = 0.0, previous = survival(points[0], left, right, e0, e1);
    for (int i = 1; i < count; i++) {
        double current = survival(points[i], left, right, e0, e1);
        out += (points[i] - points[i - 1]) * (previous + current) / 2;
        previous = current;
    }
    return out;
}

/* For each flagged timestamp's piece(s) (cut in two where a zone boundary falls at i + 0.5):
 * - recall: the gap the piece splits between its nearest neighbours in the zone that are
 *   swept earlier (left: rank >= its rank; right: rank > its rank; equal ranks sweep left to
 *   right), found by two monotone-stack passes per zone over the pieces in position order;
 *   only pieces whose gaps reach the true event gain anything, and only they are written;
 * - precision: the flagged points are placed in rank order (by their rank directly when the
 *   ranks are a permutation, else by a counting sort), then swept from the highest rank
 *   down; each piece adds its integral and length to its zone, and the change of the zone's
 *   ratio is added at its rank.  Placing (a scatter) before sweeping keeps the sweep's
 *   reads sequential. */
enum { WHOLE, FIRST_HALF, SECOND_HALF }; /* a piece is a flagged point's [i, i+1) or half of it */

typedef struct {
    int32_t point, rank, zone, kind;
} Piece;

static inline double piece_lo(const Piece *p) { return p->point + (p->kind == SECOND_HALF ? 0.5 : 0.0); }
static inline double piece_hi(const Piece *p) { return p->point + (p->kind == FIRST_HALF ? 0.5 : 1.0); }

typedef struct { /* a flagged point in rank order: one piece, or two when cut (the second in zone + 1) */
    double value;
    int32_t rank, zone; /* zone < 0: cut, first half in zone -zone - 1 */
} Placed;

typedef struct { /* a monotone stack's entry: a piece's rank and the end that faces the next piece */
    int32_t rank;
    double edge;
} StackEntry;

static PyObject *affiliation(PyObject *self, PyObject *args)
{
    Py_buffer ranks, starts_view, ends_view, precision_view, defined_view, recall_view;
    Py_ssize_t n, n_zones, m;
    if (!PyArg_ParseTuple(args, "nnny*y*y*w*w*w*", &n, &n_zones, &m, &ranks, &starts_view, &ends_view,
                          &precision_view, &defined_view, &recall_view))
        return NULL;
    PyObject *result = NULL;
    double *bounds = NULL, *zone_value = NULL, *zone_length = NULL, *second_value = NULL, *left_end = NULL;
    Piece *piece = NULL;
    Placed *placed = NULL;
    StackEntry *stack = NULL;
    int32_t *rank_start = NULL;
    uint64_t *seen = NULL;
    if (check_size(&ranks, n, 4, "ranks") || check_size(&starts_view, n_zones, 8, "starts") ||
        check_size(&ends_view, n_zones, 8, "ends") || check_size(&precision_view, m + 1, 8, "precision") ||
        check_size(&defined_view, m + 1, 8, "defined") || check_size(&recall_view, m + 1, 8, "recall"))
        goto done;
    if (n + n_zones >= ((Py_ssize_t)1 << 31) || m >= ((Py_ssize_t)1 << 31)) {
        PyErr_SetString(PyExc_ValueError, "affiliation: n must be below 2**31");
        goto done;
    }
    if (n_zones == 0 || n == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    const int32_t *rank = ranks.buf;
    const int64_t *starts = starts_view.buf, *ends = ends_view.buf;
    double *precision_delta = precision_view.buf, *defined_delta = defined_view.buf, *recall_delta = recall_view.buf;
    Py_ssize_t capacity = n + n_zones;
    bounds = malloc(sizeof(double) * (n_zones + 1));
    zone_value = calloc(n_zones, sizeof(double));
    zone_length = calloc(n_zones, sizeof(double));
    second_value = calloc(n_zones, sizeof(double));
    piece = big_alloc(sizeof(Piece) * capacity);
    placed = big_alloc(sizeof(Placed) * n);
    stack = big_alloc(sizeof(StackEntry) * capacity);
    left_end = big_alloc(sizeof(double) * capacity);
    seen = calloc(m / 64 + 1, sizeof(uint64_t));
    if (!bounds || !zone_value || !zone_length || !second_value || !piece || !placed || !stack || !left_end || !seen) {
        PyErr_NoMemory();
        goto done;
    }
    int repeated_rank = 0, out_of_memory = 0;
    Py_BEGIN_ALLOW_THREADS
    bounds[0] = 0.0;
    for (Py_ssize_t j = 1; j < n_zones; j++)
        bounds[j] = (ends[j - 1] + starts[j]) / 2.0;
    bounds[n_zones] = (double)n;

    /* pieces in position order */
    Py_ssize_t pieces = 0, flagged = 0, zone = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t r = rank[i];
        if (r < 0)
            continue;
        flagged++;
        if (seen[r >> 6] & (1ULL << (r & 63)))
            repeated_rank = 1;
        seen[r >> 6] |= 1ULL << (r & 63);
        while (zone + 1 < n_zones && bounds[zone + 1] <= (double)i)
            zone++;
        if (zone + 1 < n_zones && bounds[zone + 1] == i + 0.5) { /* a zone boundary cuts it */
            piece[pieces++] = (Piece){(int32_t)i, r, (int32_t)zone, FIRST_HALF};
            piece[pieces++] = (Piece){(int32_t)i, r, (int32_t)(zone + 1), SECOND_HALF};
        } else
            piece[pieces++] = (Piece){(int32_t)i, r, (int32_t)zone, WHOLE};
    }

    /* recall: nearest earlier-swept neighbours inside the zone */
    Py_ssize_t top = -1;
    for (Py_ssize_t k = 0; k < pieces; k++) { /* left: nearest q < k, same zone, rank >= */
        if (k > 0 && piece[k].zone != piece[k - 1].zone)
            top = -1;
        while (top >= 0 && stack[top].rank < piece[k].rank)
            top--;
        left_end[k] = top >= 0 ? stack[top].edge : -INFINITY;
        stack[++top] = (StackEntry){piece[k].rank, piece_hi(&piece[k])};
    }
    top = -1;
    for (Py_ssize_t k = pieces - 1; k >= 0; k--) { /* right: nearest q > k, same zone, rank > */
        const Piece *p = &piece[k];
        if (k + 1 < pieces && p->zone != piece[k + 1].zone)
            top = -1;
        while (top >= 0 && stack[top].rank <= p->rank)
            top--;
        double right_start = top >= 0 ? stack[top].edge : INFINITY, lo = piece_lo(p), hi = piece_hi(p);
        stack[++top] = (StackEntry){p->rank, lo};
        double a = (double)starts[p->zone], b = (double)ends[p->zone], e0 = bounds[p->zone], e1 = bounds[p->zone + 1];
        if (right_start <= a || left_end[k] >= b)
            continue; /* the split gap and the piece lie beside the true event: no recall changes */
        double covered = (hi < b ? hi : b) - (lo > a ? lo : a);
        double gained = (covered > 0 ? covered : 0.0) + gap_integral(left_end[k], lo, a, b, e0, e1) +
                        gap_integral(hi, right_start, a, b, e0, e1);
        if (left_end[k] > -INFINITY || right_start < INFINITY)
            gained -= gap_integral(left_end[k], right_start, a, b, e0, e1);
        if (gained != 0.0)
            recall_delta[p->rank] += gained / (b - a);
    }

    /* precision: place the flagged points in rank order, then sweep from the highest rank */
    int permutation = !repeated_rank && flagged == m; /* every rank 0..m-1 exactly once */
    if (!permutation) {
        rank_start = calloc(m + 1, sizeof(int32_t));
        if (!rank_start)
            out_of_memory = 1;
        else {
            for (Py_ssize_t k = 0; k < pieces; k++)
                if (piece[k].kind != SECOND_HALF)
                    rank_start[piece[k].rank + 1]++;
            for (Py_ssize_t r = 0; r < m; r++)
                rank_start[r + 1] += rank_start[r];
        }
    }
    if (!out_of_memory) {
        for (Py_ssize_t k = 0; k < pieces; k++) {
            const Piece *p = &piece[k];
            int32_t z = p->zone;
            double value = precision_integral(piece_lo(p), piece_hi(p), (double)starts[z], (double)ends[z], bounds[z], bounds[z + 1]);
            if (p->kind == SECOND_HALF) { /* one point is cut per zone boundary: kept per zone */
                second_value[z] = value;
                continue;
            }
            Py_ssize_t slot = permutation ? p->rank : rank_start[p->rank]++;
            placed[slot] = (Placed){value, p->rank, p->kind == FIRST_HALF ? -z - 1 : z};
        }
        for (Py_ssize_t s = flagged - 1; s >= 0; s--) {
            const Placed point = placed[s];
            int cut = point.zone < 0;
            int32_t first_zone = cut ? -point.zone - 1 : point.zone;
            for (int32_t z = first_zone; z <= first_zone + cut; z++) {
                double before = zone_length[z] > 0 ? zone_value[z] / zone_length[z] : 0.0;
                if (zone_length[z] == 0)
                    defined_delta[point.rank] += 1.0;
                zone_value[z] += z == first_zone ? point.value : second_value[z];
                zone_length[z] += cut ? 0.5 : 1.0;
                precision_delta[point.rank] += zone_value[z] / zone_length[z] - before;
            }
        }
    }
    for (Py_ssize_t r = m - 1; r >= 0; r--) { /* per rank -> per threshold: suffix sums, in place */
        precision_delta[r] += precision_delta[r + 1];
        defined_delta[r] += defined_delta[r + 1];
        recall_delta[r] += recall_delta[r + 1];
    }
    Py_END_ALLOW_THREADS
    if (out_of_memory)
        PyErr_NoMemory();
    else
        result = Py_NewRef(Py_None);
done:
    free(bounds);
    free(zone_value);
    free(zone_length);
    free(second_value);
    free(piece);
    free(placed);
    free(stack);
    free(left_end);
    free(rank_start);
    free(seen);
    PyBuffer_Release(&ranks);
    PyBuffer_Release(&starts_view);
    PyBuffer_Release(&ends_view);
    PyBuffer_Release(&precision_view);
    PyBuffer_Release(&defined_view);
    PyBuffer_Release(&recall_view);
    return result;
}

/* ------------------------------------------------------------------ pa_k_counts */

/* True positives under PA%K, K = 0..100, at the threshold indices begin..end-1 (see
 * counts.py): TP_K(t) = TP_point(t) + sum of L_j over segments whose r-th largest rank o_j
 * is >= t - #{anomalous points p: min(rank_p, o_seg(p)) >= t}, r = floor(K L / 100) + 1.
 * Each count of "ranks >= t" over the window is a histogram and a suffix sum. */
static void add_at_least(int64_t *histogram, int64_t rank, int64_t begin, int64_t width, int64_t amount)
{
    int64_t bin = rank - begin; /* -1 or below: never counted; width - 1 or above: counted everywhere */
    bin = bin < -1 ? -1 : (bin > width - 1 ? width - 1 : bin);
    histogram[bin + 1] += amount;
}

static PyObject *pa_k_counts(PyObject *self, PyObject *args)
{
    Py_buffer positive_view, descending_view, lengths_view, tp_view, found_view;
    Py_ssize_t n_positive, n_segments, begin, width;
    if (!PyArg_ParseTuple(args, "nnnny*y*y*w*w*", &n_positive, &n_segments, &begin, &width, &positive_view,
                          &descending_view, &lengths_view, &tp_view, &found_view))
        return NULL;
    PyObject *result = NULL;
    int64_t *histogram = NULL, *point = NULL;
    if (check_size(&positive_view, n_positive, 8, "positive_ranks") || check_size(&descending_view, n_positive, 8, "descending") ||
        check_size(&lengths_view, n_segments, 8, "lengths") || check_size(&tp_view, 101 * width, 8, "tp_k") ||
        check_size(&found_view, width, 8, "found"))
        goto done;
    histogram = malloc(sizeof(int64_t) * (width + 1));
    point = malloc(sizeof(int64_t) * (width + 1));
    if (!histogram || !point) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *rank = positive_view.buf, *descending = descending_view.buf, *lengths = lengths_view.buf;
    int64_t *tp = tp_view.buf, *found = found_view.buf;
    Py_BEGIN_ALLOW_THREADS
    /* point-wise (K = 100) and found segments (a segment's largest rank) */
    memset(point, 0, sizeof(int64_t) * (width + 1));
    memset(histogram, 0, sizeof(int64_t) * (width + 1));
    for (Py_ssize_t p = 0; p < n_positive; p++)
        add_at_least(point, rank[p], begin, width, 1);
    for (Py_ssize_t j = 0, offset = 0; j < n_segments; offset += lengths[j++])
        add_at_least(histogram, descending[offset], begin, width, 1);
    for (Py_ssize_t t = width - 1; t >= 0; t--) {
        point[t] += point[t + 1];
        histogram[t] += histogram[t + 1];
    }
    for (Py_ssize_t t = 0; t < width; t++) {
        tp[100 * width + t] = point[t + 1];
        found[t] = histogram[t + 1];
    }
    for (int k = 0; k < 100; k++) {
        memset(histogram, 0, sizeof(int64_t) * (width + 1));
        for (Py_ssize_t j = 0, offset = 0; j < n_segments; offset += lengths[j++]) {
            int64_t order_statistic = descending[offset + (k * lengths[j]) / 100];
            add_at_least(histogram, order_statistic, begin, width, lengths[j]);
            for (Py_ssize_t p = offset; p < offset + lengths[j]; p++)
                add_at_least(histogram, rank[p] < order_statistic ? rank[p] : order_statistic, begin, width, -1);
        }
        int64_t suffix = 0;
        for (Py_ssize_t t = width - 1; t >= 0; t--) {
            suffix += histogram[t + 1];
            tp[k * width + t] = point[t + 1] + suffix;
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(histogram);
    free(point);
    PyBuffer_Release(&positive_view);
    PyBuffer_Release(&descending_view);
    PyBuffer_Release(&lengths_view);
    PyBuffer_Release(&tp_view);
    PyBuffer_Release(&found_view);
    return result;
}

/* F1 = 2 TP / (TP + FP + P) for a (rows x width) table of true positives sharing one row of
 * false positives (the PA%K table); 0 where the denominator is 0.  See counts.f1_from_counts. */
static PyObject *f1_scores(PyObject *self, PyObject *args)
{
    Py_buffer tp_view, fp_view, out_view;
    Py_ssize_t rows, width;
    long long n_pos;
    if (!PyArg_ParseTuple(args, "nnLy*y*w*", &rows, &width, &n_pos, &tp_view, &fp_view, &out_view))
        return NULL;
    PyObject *result = NULL;
    if (check_size(&tp_view, rows * width, 8, "tp") || check_size(&fp_view, width, 8, "fp") ||
        check_size(&out_view, rows * width, 8, "out"))
        goto done;
    const int64_t *tp = tp_view.buf, *fp = fp_view.buf;
    double *out = out_view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < rows; r++)
        for (Py_ssize_t t = 0; t < width; t++) {
            double positives = (double)tp[r * width + t], denominator = positives + (double)fp[t] + (double)n_pos;
            out[r * width + t] = denominator > 0 ? 2.0 * positives / denominator : 0.0;
        }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&tp_view);
    PyBuffer_Release(&fp_view);
    PyBuffer_Release(&out_view);
    return result;
}

/* ------------------------------------------------------------- retain_freed_memory */

/* glibc hands every allocation of 128 KiB or more back to the system when it is freed, so
 * each of the panel's large temporaries is faulted in and zeroed again; keeping allocations
 * up to 32 MiB on the heap and not trimming it lets them be reused (about 20 % of the
 * panel's time at 1M points).  Process-wide; a no-op elsewhere than glibc. */
static PyObject *retain_freed_memory(PyObject *self, PyObject *unused)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"rank_table", rank_table, METH_VARARGS, "rank_table(n_first, n_second, first, second, distinct, total, buckets) -> (m, shift)"},
    {"rank_lookup", rank_lookup, METH_VARARGS, "rank_lookup(n, m, shift, begin, end, scores, distinct, buckets, ranks)"},
    {"range_counts", range_counts, METH_VARARGS,
     "range_counts(n, m, n_segments, ranks, labels, starts, ends, alpha_recall, alpha_precision, recall_sum, precision_sum, n_runs)"},
    {"affiliation", affiliation, METH_VARARGS,
     "affiliation(n, n_zones, m, ranks, starts, ends, precision_delta, defined_delta, recall_delta)"},
    {"pa_k_counts", pa_k_counts, METH_VARARGS,
     "pa_k_counts(n_positive, n_segments, begin, width, positive_ranks, descending, lengths, tp_k, found)"},
    {"f1_scores", f1_scores, METH_VARARGS, "f1_scores(rows, width, n_pos, tp, fp, out)"},
    {"retain_freed_memory", retain_freed_memory, METH_NOARGS, "retain_freed_memory() -> bool (glibc only)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "Compiled kernels of the metric panel.", -1, methods};

/* Raised whenever a kernel's signature or meaning changes: kernels.py refuses a stale build. */
#define KERNELS_VERSION 5

PyMODINIT_FUNC PyInit__kernels(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "VERSION", KERNELS_VERSION) < 0 ||
              PyModule_AddIntConstant(m, "LOOKUP_MAX_BITS", LOOKUP_MAX_BITS) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
