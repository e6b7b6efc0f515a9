;; Range search of one index segment (src/memory/projectionTree.ts) in WebAssembly SIMD, in
;; float32: the query and every stored number are float32, four lanes at a time. The caller
;; widens the bound for what float32 loses (see Segment.search): b = (radius + R) * scale + slack,
;; and a point or node is dropped only when a computed sum of squared gaps is >= b * b. A NaN
;; (from infinite coordinates) never compares >=, so it never drops anything.
;;
;; Memory (imported, one per segment; byte offsets are parameters, see projectionTree.ts):
;;   q       query: L leading coordinates, then E embedding coordinates (f32)
;;   lo, hi  per node, L box bounds (f32)        maxR  per node, largest region radius (f32)
;;   right   per node, right child or -1 (i32)   from, to  per node, its points (i32)
;;   lead    per group of 4 points, L x 4 coordinates, dimension-major (f32): the leaf scan
;;           tests 4 points per instruction
;;   emb     per point, E coordinates (f32)      radii  per point, padded to whole groups (f32)
;;   stack, out  scratch and result (i32)
;; L and E are multiples of 4 (zero padding); every leaf starts at a multiple of 4 points.
;; Returns the number of point indices written to out.
(module
  (import "env" "memory" (memory 1))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Squared gaps of the query to the node's box over L coordinates, stopping once past $limit.
  (func $boxSum (param $q i32) (param $lo i32) (param $hi i32) (param $L i32) (param $limit f32) (result f32)
    (local $k i32) (local $acc v128) (local $qv v128) (local $gap v128) (local $sum f32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $L)))
        (local.set $qv (v128.load (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $gap
          (f32x4.max
            (f32x4.max
              (f32x4.sub (v128.load (i32.add (local.get $lo) (i32.shl (local.get $k) (i32.const 2)))) (local.get $qv))
              (f32x4.sub (local.get $qv) (v128.load (i32.add (local.get $hi) (i32.shl (local.get $k) (i32.const 2))))))
            (v128.const f32x4 0 0 0 0)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $gap) (local.get $gap))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        ;; Every 8 coordinates: most of the spread is in the first ones.
        (if (i32.eqz (i32.and (local.get $k) (i32.const 7)))
          (then
            (local.set $sum (call $hsum (local.get $acc)))
            (br_if $done (f32.ge (local.get $sum) (local.get $limit)))))
        (br $next)))
    (call $hsum (local.get $acc)))

  ;; Sum over k < n of (q[k] - p[k])^2, four at a time, stopping once past $limit (checked every 32).
  (func $pointSum (param $q i32) (param $p i32) (param $n i32) (param $limit f32) (result f32)
    (local $k i32) (local $acc v128) (local $d v128) (local $sum f32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $d
          (f32x4.sub
            (v128.load (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2))))
            (v128.load (i32.add (local.get $p) (i32.shl (local.get $k) (i32.const 2))))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (if (i32.eqz (i32.and (local.get $k) (i32.const 31)))
          (then
            (local.set $sum (call $hsum (local.get $acc)))
            (br_if $done (f32.ge (local.get $sum) (local.get $limit)))))
        (br $next)))
    (call $hsum (local.get $acc)))

  ;; Squared gaps of 4 points (one group, lanes) to the query over L leading coordinates; stops
  ;; early once every lane is past its limit.
  (func $groupSum (param $q i32) (param $g i32) (param $L i32) (param $limits v128) (result v128)
    (local $k i32) (local $acc v128) (local $d v128) (local $at i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $L)))
        (local.set $at (i32.add (local.get $g) (i32.shl (local.get $k) (i32.const 4))))
        (local.set $d (f32x4.sub (v128.load32_splat (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2)))) (v128.load (local.get $at))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $d (f32x4.sub (v128.load32_splat offset=4 (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2)))) (v128.load offset=16 (local.get $at))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $d (f32x4.sub (v128.load32_splat offset=8 (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2)))) (v128.load offset=32 (local.get $at))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $d (f32x4.sub (v128.load32_splat offset=12 (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 2)))) (v128.load offset=48 (local.get $at))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br_if $done (i32x4.all_true (f32x4.ge (local.get $acc) (local.get $limits))))
        (br $next)))
    (local.get $acc))

  (func (export "search")
    (param $L i32) (param $E i32) (param $radius f32) (param $scale f32) (param $slack f32)
    (param $q i32) (param $lo i32) (param $hi i32) (param $maxR i32) (param $right i32) (param $from i32) (param $to i32)
    (param $lead i32) (param $emb i32) (param $radii i32) (param $stack i32) (param $out i32)
    (result i32)
    (local $top i32) (local $node i32) (local $row i32) (local $r i32) (local $j i32) (local $end i32) (local $g i32)
    (local $count i32) (local $qEmb i32) (local $b f32) (local $limit f32) (local $limits v128) (local $pass i32)
    (local $lane i32) (local $groupBytes i32)
    (local.set $qEmb (i32.add (local.get $q) (i32.shl (local.get $L) (i32.const 2))))
    (local.set $groupBytes (i32.shl (local.get $L) (i32.const 4)))
    (i32.store (local.get $stack) (i32.const 0))
    (local.set $top (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $top)))
        (local.set $top (i32.sub (local.get $top) (i32.const 1)))
        (local.set $node (i32.load (i32.add (local.get $stack) (i32.shl (local.get $top) (i32.const 2)))))
        (local.set $b
          (f32.add
            (f32.mul (f32.add (local.get $radius) (f32.load (i32.add (local.get $maxR) (i32.shl (local.get $node) (i32.const 2))))) (local.get $scale))
            (local.get $slack)))
        (local.set $limit (f32.mul (local.get $b) (local.get $b)))
        (local.set $row (i32.mul (local.get $node) (i32.shl (local.get $L) (i32.const 2))))
        (br_if $next
          (f32.ge
            (call $boxSum (local.get $q) (i32.add (local.get $lo) (local.get $row)) (i32.add (local.get $hi) (local.get $row)) (local.get $L) (local.get $limit))
            (local.get $limit)))
        ;; An inner node: visit the left child (node + 1) first, then the right one.
        (local.set $r (i32.load (i32.add (local.get $right) (i32.shl (local.get $node) (i32.const 2)))))
        (if (i32.ge_s (local.get $r) (i32.const 0))
          (then
            (i32.store (i32.add (local.get $stack) (i32.shl (local.get $top) (i32.const 2))) (local.get $r))
            (i32.store (i32.add (local.get $stack) (i32.shl (i32.add (local.get $top) (i32.const 1)) (i32.const 2)))
              (i32.add (local.get $node) (i32.const 1)))
            (local.set $top (i32.add (local.get $top) (i32.const 2)))
            (br $next)))
        ;; A leaf: its points four at a time on the leading coordinates, then one by one on the embedding.
        (local.set $j (i32.load (i32.add (local.get $from) (i32.shl (local.get $node) (i32.const 2)))))
        (local.set $end (i32.load (i32.add (local.get $to) (i32.shl (local.get $node) (i32.const 2)))))
        (block $leafDone
          (loop $group
            (br_if $leafDone (i32.ge_s (local.get $j) (local.get $end)))
            (local.set $limits
              (f32x4.add
                (f32x4.mul
                  (f32x4.add (f32x4.splat (local.get $radius)) (v128.load (i32.add (local.get $radii) (i32.shl (local.get $j) (i32.const 2)))))
                  (f32x4.splat (local.get $scale)))
                (f32x4.splat (local.get $slack))))
            (local.set $limits (f32x4.mul (local.get $limits) (local.get $limits)))
            (local.set $g (i32.add (local.get $lead) (i32.mul (i32.shr_u (local.get $j) (i32.const 2)) (local.get $groupBytes))))
            ;; Lanes not dropped (a NaN sum is not >= its limit, so it stays).
            (local.set $pass
              (i32.and
                (i32x4.bitmask (v128.not (f32x4.ge (call $groupSum (local.get $q) (local.get $g) (local.get $L) (local.get $limits)) (local.get $limits))))
                ;; Only the leaf's own points (the last group of the segment may be partial).
                (i32.sub (i32.shl (i32.const 1) (select (i32.sub (local.get $end) (local.get $j)) (i32.const 4) (i32.lt_s (i32.sub (local.get $end) (local.get $j)) (i32.const 4)))) (i32.const 1))))
            (block $lanesDone
              (loop $lanes
                (br_if $lanesDone (i32.eqz (local.get $pass)))
                (local.set $lane (i32.ctz (local.get $pass)))
                (local.set $pass (i32.and (local.get $pass) (i32.sub (local.get $pass) (i32.const 1))))
                (local.set $r (i32.add (local.get $j) (local.get $lane)))
                ;; The same limit as its lane's (the same float32 operations in the same order).
                (local.set $b
                  (f32.add
                    (f32.mul (f32.add (local.get $radius) (f32.load (i32.add (local.get $radii) (i32.shl (local.get $r) (i32.const 2))))) (local.get $scale))
                    (local.get $slack)))
                (local.set $limit (f32.mul (local.get $b) (local.get $b)))
                (if (i32.eqz
                      (f32.ge
                        (call $pointSum (local.get $qEmb) (i32.add (local.get $emb) (i32.mul (local.get $r) (i32.shl (local.get $E) (i32.const 2))))
                          (local.get $E) (local.get $limit))
                        (local.get $limit)))
                  (then
                    (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (local.get $r))
                    (local.set $count (i32.add (local.get $count) (i32.const 1)))))
                (br $lanes)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $group)))
        (br $next)))
    (local.get $count))
)
