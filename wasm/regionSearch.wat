;; Range search of one index segment (src/memory/projectionTree.ts) in WebAssembly SIMD: nodes
;; and points on their leading coordinates, 16-bit codes on the segment's grid compared in float32,
;; four lanes at a time, then each remaining point on the 8-bit codes of its fine embedding
;; (src/memory/codeGrid.ts) with exact integer sums. The caller widens the bounds for what the
;; grid and float32 lose (see SegmentSearcher.search): b = (radius + R) * scale + slack; on the
;; leading coordinates (in steps of the segment's grid) a point or node is dropped only when a
;; computed sum of squared gaps is >= ((b + leadSlack) * leadInvStep)^2, on the codes only when
;; their sum S (exact, then rounded to float32) is >= ((b + e + queryError) * invStep * scale)^2,
;; e the point's code error, invStep >= 1 / step (the codes' bound is step sqrt(S) - e - queryError,
;; and scale covers float32). A NaN (a region radius the grid could not code, see
;; projectionTree.ts) never compares >=, so it never drops anything; f32x4.pmax returns one of its
;; operands (never more than the larger), so a gap is never overstated.
;; Everything is in one function: calls (V8 does not inline them here) cost as much as the work.
;;
;; Memory (imported, one per segment, shared: the memory's search helper thread searches it too,
;; with its own q, stack and out; byte offsets are parameters, see projectionTree.ts):
;;   q       query: L leading coordinates in steps of the grid, from its origin (f32), then W codes (i16)
;;   nodes   per node (preorder), 16 + 4 B bytes: largest region radius below it (f32), right
;;           child or -1 (i32), first and end point (i32); then per 4 of its first B leading
;;           coordinates the box's 4 lows and 4 highs (u16 grid codes): one record read front to back
;;   lead    per group of 4 points, 32 + 8 L bytes: their 4 region radii (f32), their codes' 4
;;           errors (f32), then L x 4 grid codes, dimension-major (u16): the leaf scan tests 4
;;           points per instruction, and what it reads of a leaf lies together
;;   codes   per point, W codes (i8)
;;   stack, out  scratch and result (i32)
;; L and B <= L are multiples of 4, W of 16 (zero padding); every leaf starts at a multiple of 4 points.
;; Returns the number of point indices written to out.
(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "search")
    (param $L i32) (param $B i32) (param $W i32) (param $radius f32) (param $scale f32) (param $slack f32) (param $leadSlack f32) (param $leadInvStep f32) (param $invStep f32) (param $queryError f32)
    (param $q i32) (param $nodes i32) (param $lead i32) (param $codes i32) (param $stack i32)
    (param $out i32)
    (result i32)
    (local $top i32) (local $node i32) (local $at i32) (local $k i32) (local $r i32) (local $j i32) (local $end i32) (local $g i32) (local $block i32)
    (local $count i32) (local $qCodes i32) (local $b f32) (local $limit f32) (local $sum f32) (local $limits v128) (local $pass i32)
    (local $nodeBytes i32) (local $groupBytes i32) (local $acc v128) (local $d v128) (local $qv v128) (local $p i32) (local $c i32)
    (local $t f32) (local $live v128)
    (local.set $qCodes (i32.add (local.get $q) (i32.shl (local.get $L) (i32.const 2))))
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
        ;; The node's box, 4 coordinates at a time; checked every 8 (most spread is in the first).
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (local.set $p (i32.add (local.get $at) (i32.const 16)))
        (block $boxDone
          (loop $box
            (br_if $boxDone (i32.ge_u (local.get $k) (local.get $B)))
            (local.set $qv (v128.load (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $d
              (f32x4.pmax
                (f32x4.pmax
                  (f32x4.sub (f32x4.convert_i32x4_s (v128.load16x4_u (local.get $p))) (local.get $qv))
                  (f32x4.sub (local.get $qv) (f32x4.convert_i32x4_s (v128.load16x4_u offset=8 (local.get $p)))))
                (v128.const f32x4 0 0 0 0)))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br_if $box (i32.and (local.get $k) (i32.const 7)))
            (local.set $sum
              (f32.add
                (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
            (br_if $next (f32.ge (local.get $sum) (local.get $limit)))
            (br $box)))
        (local.set $sum
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
            (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (br_if $next (f32.ge (local.get $sum) (local.get $limit)))
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
            (local.set $limits (f32x4.mul (local.get $limits) (local.get $limits)))
            ;; The lanes of points past the leaf's end (a partial last group) count as past their limit.
            (local.set $live (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (i32.sub (local.get $end) (local.get $j)))))
            ;; Four points over the leading coordinates, until every lane is past its limit.
            (local.set $g (i32.add (local.get $block) (i32.const 32)))
            (local.set $acc (v128.const f32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $lanesOut
              (loop $dims
                (br_if $lanesOut (i32.ge_u (local.get $k) (local.get $L)))
                (local.set $p (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2))))
                (local.set $d (f32x4.sub (v128.load32_splat (local.get $p)) (f32x4.convert_i32x4_s (v128.load16x4_u (local.get $g)))))
                (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (v128.load32_splat offset=4 (local.get $p)) (f32x4.convert_i32x4_s (v128.load16x4_u offset=8 (local.get $g)))))
                (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (v128.load32_splat offset=8 (local.get $p)) (f32x4.convert_i32x4_s (v128.load16x4_u offset=16 (local.get $g)))))
                (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (v128.load32_splat offset=12 (local.get $p)) (f32x4.convert_i32x4_s (v128.load16x4_u offset=24 (local.get $g)))))
                (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $g (i32.add (local.get $g) (i32.const 32)))
                (br_if $lanesOut (i32x4.all_true (v128.or (f32x4.ge (local.get $acc) (local.get $limits)) (v128.not (local.get $live)))))
                (br $dims)))
            ;; Lanes not dropped (a NaN sum is not >= its limit, so it stays), of the leaf's own points.
            (local.set $pass (i32x4.bitmask (v128.andnot (local.get $live) (f32x4.ge (local.get $acc) (local.get $limits)))))
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
