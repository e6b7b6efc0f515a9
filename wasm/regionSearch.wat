;; Range search of one index segment (src/memory/projectionTree.ts) in WebAssembly SIMD: nodes
;; and points on their leading coordinates as 14-bit codes on the segment's grid, with integer
;; sums of squared gaps (i32x4.dot_i16x8_s, four points per instruction), then each remaining
;; point on the 8-bit codes of its fine embedding (src/memory/codeGrid.ts), exact too.
;; The caller widens the bounds for what the grids and float32 lose (see SegmentSearcher.search):
;; b = (radius + R) * scale + slack; on the leading coordinates (in steps of the segment's grid,
;; the query rounded to a code) a point or node is dropped only when its sum of squared gaps is
;; >= ceil(((b + leadSlack) * leadInvStep)^2), on the codes only when their sum S (exact, then
;; rounded to float32) is >= ((b + e + queryError) * invStep * scale)^2, e the point's code error,
;; invStep >= 1 / step (the codes' bound is step sqrt(S) - e - queryError, and scale covers
;; float32). Gaps are 16-bit integers (the query's codes are clamped near the grid, to the query
;; code limit of projectionTree.ts), and their squares are summed modulo 2^32: a sum below 2^31 is
;; exact, and one of 2^31 or more exceeds every bound tested (below LIMIT_MAX = 2147483520 <
;; 2^31), so that dropping the point is right whatever the sum wraps to. A point or node whose
;; bound is not below LIMIT_MAX, or NaN (a region radius the grid could not code, see
;; projectionTree.ts), is never dropped on its leading coordinates.
;; Everything is in one function: calls (V8 does not inline them here) cost as much as the work.
;;
;; Memory (imported, one per segment, shared: the memory's search helper thread searches it too,
;; with its own q, qLead, stack and out; byte offsets are parameters, see projectionTree.ts):
;;   q       query: per pair of leading coordinates (k, k + 1) its codes [c_k, c_k+1] x 4 (i16),
;;           then per 4 of the first B the codes negated and as they are [-c x 4, c x 4] (i16)
;;           (both written here, from qLead), then W codes of the fine embedding (i16)
;;   qLead   the query's L leading coordinates (f32), finite (the caller checks)
;;   grid    the segment's grid: L origins (f32); a query's code is round((v - origin)
;;           leadInvStep) - 8192, clamped to [-24575, 24575] (the query code limit, projectionTree.ts)
;;   nodes   per node (preorder), 16 + 4 B bytes: largest region radius below it (f32), right
;;           child or -1 (i32), first and end point (i32); then per 4 of its first B leading
;;           coordinates the box's 4 lows and its 4 highs negated (i16): one record read front to back
;;   lead    per group of 4 points, 32 + 8 L bytes: their 4 region radii (f32), their codes' 4
;;           errors (f32), then per pair of leading coordinates each point's two codes, point by
;;           point (i16): the leaf scan tests 4 points per instruction, and what it reads of a
;;           leaf lies together
;;   codes   per point, W codes (i8)
;;   stack, out  scratch and result (i32)
;; L is a multiple of 8, B <= L of 4, W of 16 (zero padding); every leaf starts at a multiple of 4 points.
;; Returns the number of point indices written to out.
(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "search")
    (param $L i32) (param $B i32) (param $W i32) (param $radius f32) (param $scale f32) (param $slack f32) (param $leadSlack f32) (param $leadInvStep f32) (param $invStep f32) (param $queryError f32)
    (param $q i32) (param $qLead i32) (param $grid i32) (param $nodes i32) (param $lead i32) (param $codes i32) (param $stack i32)
    (param $out i32)
    (result i32)
    (local $top i32) (local $node i32) (local $at i32) (local $k i32) (local $r i32) (local $j i32) (local $end i32) (local $g i32) (local $block i32)
    (local $count i32) (local $qCodes i32) (local $b f32) (local $limit f32) (local $sum f32) (local $limits v128) (local $pass i32)
    (local $nodeBytes i32) (local $groupBytes i32) (local $acc v128) (local $d v128) (local $qv v128) (local $p i32) (local $c i32)
    (local $t f32) (local $live v128) (local $qBox i32) (local $bound i32) (local $keep v128)
    (local $c0 i32) (local $c1 i32) (local $inverse f64)
    (local.set $qBox (i32.add (local.get $q) (i32.shl (local.get $L) (i32.const 3))))
    (local.set $qCodes (i32.add (local.get $qBox) (i32.shl (local.get $B) (i32.const 2))))
    ;; The query's codes on this segment's grid, two coordinates at a time, in float64 (as
    ;; exact as the JS it replaced; a tie may round either way, within the half step allowed).
    (local.set $inverse (f64.promote_f32 (local.get $leadInvStep)))
    (local.set $k (i32.const 0))
    (block $coded
      (loop $code
        (br_if $coded (i32.ge_u (local.get $k) (local.get $L)))
        (local.set $p (i32.add (local.get $qLead) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $c (i32.add (local.get $grid) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $c0
          (i32.trunc_f64_s
            (f64.min (f64.const 24575)
              (f64.max (f64.const -24575)
                (f64.sub
                  (f64.nearest (f64.mul (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (f64.promote_f32 (f32.load (local.get $c)))) (local.get $inverse)))
                  (f64.const 8192))))))
        (local.set $c1
          (i32.trunc_f64_s
            (f64.min (f64.const 24575)
              (f64.max (f64.const -24575)
                (f64.sub
                  (f64.nearest (f64.mul (f64.sub (f64.promote_f32 (f32.load offset=4 (local.get $p))) (f64.promote_f32 (f32.load offset=4 (local.get $c)))) (local.get $inverse)))
                  (f64.const 8192))))))
        (v128.store (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 3)))
          (i32x4.splat (i32.or (i32.and (local.get $c0) (i32.const 0xffff)) (i32.shl (local.get $c1) (i32.const 16)))))
        (if (i32.lt_u (local.get $k) (local.get $B))
          (then
            ;; Box slots: [-c x 4, c x 4] per 4 coordinates; k is even, so k and k + 1 share a 4.
            (local.set $p
              (i32.add (local.get $qBox)
                (i32.add (i32.shl (i32.shr_u (local.get $k) (i32.const 2)) (i32.const 4)) (i32.shl (i32.and (local.get $k) (i32.const 3)) (i32.const 1)))))
            (i32.store16 (local.get $p) (i32.sub (i32.const 0) (local.get $c0)))
            (i32.store16 offset=2 (local.get $p) (i32.sub (i32.const 0) (local.get $c1)))
            (i32.store16 offset=8 (local.get $p) (local.get $c0))
            (i32.store16 offset=10 (local.get $p) (local.get $c1))))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $code)))
    (local.set $nodeBytes (i32.add (i32.const 16) (i32.shl (local.get $B) (i32.const 2))))
    (local.set $groupBytes (i32.add (i32.const 32) (i32.shl (local.get $L) (i32.const 3))))
    (i32.store (local.get $stack) (i32.const 0))
    (local.set $top (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $top)))
        (local.set $top (i32.sub (local.get $top) (i32.const 1)))
        (local.set $node (i32.load (i32.add (local.get $stack) (i32.shl (local.get $top) (i32.const 2)))))
        (local.set $at (i32.add (local.get $nodes) (i32.mul (local.get $node) (local.get $nodeBytes))))
        (local.set $b
          (f32.mul
            (f32.add
              (f32.add (f32.mul (f32.add (local.get $radius) (f32.load (local.get $at))) (local.get $scale)) (local.get $slack))
              (local.get $leadSlack))
            (local.get $leadInvStep)))
        (local.set $limit (f32.mul (local.get $b) (local.get $b)))
        ;; The node's box, 4 coordinates at a time: lows - query and query - highs, each gap
        ;; outside the box counted once (the other is below 0); checked every 8 (most spread is in
        ;; the first).
        (block $inBox
          (br_if $inBox (i32.eqz (f32.lt (local.get $limit) (f32.const 2147483520))))
          (local.set $bound (i32.trunc_f32_s (f32.ceil (local.get $limit))))
          (local.set $acc (v128.const i32x4 0 0 0 0))
          (local.set $k (i32.const 0))
          (local.set $p (i32.add (local.get $at) (i32.const 16)))
          (local.set $c (local.get $qBox))
          (block $boxDone
            (loop $box
              (br_if $boxDone (i32.ge_u (local.get $k) (local.get $B)))
              (local.set $d (i16x8.max_s (i16x8.add (v128.load (local.get $p)) (v128.load (local.get $c))) (v128.const i32x4 0 0 0 0)))
              (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $c (i32.add (local.get $c) (i32.const 16)))
              (br_if $box (i32.and (local.get $k) (i32.const 7)))
              (br_if $next
                (i32.ge_s
                  (i32.add
                    (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                    (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))
                  (local.get $bound)))
              (br $box)))
          (br_if $next
            (i32.ge_s
              (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))
              (local.get $bound))))
        ;; An inner node: visit the left child (node + 1) first, then the right one.
        (local.set $r (i32.load offset=4 (local.get $at)))
        (if (i32.ge_s (local.get $r) (i32.const 0))
          (then
            (i32.store (i32.add (local.get $stack) (i32.shl (local.get $top) (i32.const 2))) (local.get $r))
            (i32.store (i32.add (local.get $stack) (i32.shl (i32.add (local.get $top) (i32.const 1)) (i32.const 2)))
              (i32.add (local.get $node) (i32.const 1)))
            (local.set $top (i32.add (local.get $top) (i32.const 2)))
            (br $next)))
        ;; A leaf: its points four at a time on the leading coordinates, then one by one on their codes.
        (local.set $j (i32.load offset=8 (local.get $at)))
        (local.set $end (i32.load offset=12 (local.get $at)))
        (block $leafDone
          (loop $group
            (br_if $leafDone (i32.ge_s (local.get $j) (local.get $end)))
            (local.set $block (i32.add (local.get $lead) (i32.mul (i32.shr_u (local.get $j) (i32.const 2)) (local.get $groupBytes))))
            (local.set $limits
              (f32x4.mul
                (f32x4.add
                  (f32x4.add
                    (f32x4.mul
                      (f32x4.add (f32x4.splat (local.get $radius)) (v128.load (local.get $block)))
                      (f32x4.splat (local.get $scale)))
                    (f32x4.splat (local.get $slack)))
                  (f32x4.splat (local.get $leadSlack)))
                (f32x4.splat (local.get $leadInvStep))))
            ;; Each lane's bound as an integer, rounded up; lanes whose bound is NaN or not below
            ;; LIMIT_MAX are kept whatever their sums (pmin returns its first operand for a NaN);
            ;; lanes past the leaf's end (a partial last group) get the least bound, -2^31, so
            ;; that they count as past it whatever their sums wrap to.
            (local.set $live (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (i32.sub (local.get $end) (local.get $j)))))
            (local.set $limits (f32x4.mul (local.get $limits) (local.get $limits)))
            (local.set $keep (v128.andnot (local.get $live) (f32x4.lt (local.get $limits) (v128.const f32x4 2147483520 2147483520 2147483520 2147483520))))
            (local.set $limits
              (v128.bitselect
                (i32x4.trunc_sat_f32x4_s (f32x4.ceil (f32x4.pmin (v128.const f32x4 2147483520 2147483520 2147483520 2147483520) (local.get $limits))))
                (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)
                (local.get $live)))
            ;; Four points over the leading coordinates, 8 at a time, until every lane is past its bound.
            (local.set $g (i32.add (local.get $block) (i32.const 32)))
            (local.set $c (local.get $q))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $lanesOut
              (loop $dims
                (br_if $lanesOut (i32.ge_u (local.get $k) (local.get $L)))
                (local.set $d (i16x8.sub (v128.load (local.get $c)) (v128.load (local.get $g))))
                (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
                (local.set $d (i16x8.sub (v128.load offset=16 (local.get $c)) (v128.load offset=16 (local.get $g))))
                (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
                (local.set $d (i16x8.sub (v128.load offset=32 (local.get $c)) (v128.load offset=32 (local.get $g))))
                (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
                (local.set $d (i16x8.sub (v128.load offset=48 (local.get $c)) (v128.load offset=48 (local.get $g))))
                (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
                (local.set $k (i32.add (local.get $k) (i32.const 8)))
                (local.set $g (i32.add (local.get $g) (i32.const 64)))
                (local.set $c (i32.add (local.get $c) (i32.const 64)))
                (br_if $lanesOut (i32x4.all_true (v128.andnot (i32x4.ge_s (local.get $acc) (local.get $limits)) (local.get $keep))))
                (br $dims)))
            ;; Lanes not dropped.
            (local.set $pass (i32x4.bitmask (v128.not (v128.andnot (i32x4.ge_s (local.get $acc) (local.get $limits)) (local.get $keep)))))
            (block $lanesDone
              (loop $lanes
                (br_if $lanesDone (i32.eqz (local.get $pass)))
                (local.set $r (i32.add (local.get $j) (i32.ctz (local.get $pass))))
                (local.set $pass (i32.and (local.get $pass) (i32.sub (local.get $pass) (i32.const 1))))
                ;; The same b as its lane's (the same float32 operations in the same order).
                (local.set $b
                  (f32.add
                    (f32.mul (f32.add (local.get $radius) (f32.load (i32.add (local.get $block) (i32.shl (i32.and (local.get $r) (i32.const 3)) (i32.const 2))))) (local.get $scale))
                    (local.get $slack)))
                (local.set $t
                  (f32.mul
                    (f32.mul
                      (f32.add (f32.add (local.get $b) (f32.load offset=16 (i32.add (local.get $block) (i32.shl (i32.and (local.get $r) (i32.const 3)) (i32.const 2))))) (local.get $queryError))
                      (local.get $invStep))
                    (local.get $scale)))
                (local.set $limit (f32.mul (local.get $t) (local.get $t)))
                ;; The codes, 16 per step in 16-bit lanes (exact: |gap| <= 382), checked every 32.
                (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $r) (local.get $W))))
                (local.set $c (local.get $qCodes))
                (local.set $acc (v128.const i32x4 0 0 0 0))
                (local.set $k (i32.const 0))
                (block $pointOut
                  (loop $point
                    (br_if $pointOut (i32.ge_u (local.get $k) (local.get $W)))
                    (local.set $qv (v128.load (local.get $p)))
                    (local.set $d (i16x8.sub (v128.load (local.get $c)) (i16x8.extend_low_i8x16_s (local.get $qv))))
                    (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
                    (local.set $d (i16x8.sub (v128.load offset=16 (local.get $c)) (i16x8.extend_high_i8x16_s (local.get $qv))))
                    (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $d) (local.get $d))))
                    (local.set $k (i32.add (local.get $k) (i32.const 16)))
                    (local.set $p (i32.add (local.get $p) (i32.const 16)))
                    (local.set $c (i32.add (local.get $c) (i32.const 32)))
                    (br_if $point (i32.and (local.get $k) (i32.const 31)))
                    (local.set $sum
                      (f32.convert_i32_s
                        (i32.add
                          (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                          (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))))
                    (br_if $lanes (f32.ge (local.get $sum) (local.get $limit)))
                    (br $point)))
                (local.set $sum
                  (f32.convert_i32_s
                    (i32.add
                      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))))
                (br_if $lanes (f32.ge (local.get $sum) (local.get $limit)))
                (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (local.get $r))
                (local.set $count (i32.add (local.get $count) (i32.const 1)))
                (br $lanes)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $group)))
        (br $next)))
    (local.get $count))
)
