;; Range search of one index segment (src/memory/projectionTree.ts) in WebAssembly SIMD: the
;; same preorder traversal, the same lower bounds and the same early exits as the JS code, with
;; the float32 coordinates promoted exactly to float64 and summed two lanes at a time (the sums
;; differ from a sequential sum only by rounding, which the caller's slack covers).
;;
;; Memory (imported, one per segment; byte offsets are parameters, see projectionTree.ts):
;;   q       query: L leading coordinates, then E embedding coordinates (f64)
;;   lo, hi  per node, L box bounds (f32)        maxR  per node, largest region radius (f64)
;;   right   per node, right child or -1 (i32)   from, to  per node, its points (i32)
;;   lead    per point, L coordinates (f32)      emb   per point, E coordinates (f32)
;;   radii   per point (f64)                     stack, out  scratch and result (i32)
;; L and E are multiples of 4 (zero padding). Returns the number of point indices in out.
(module
  (import "env" "memory" (memory 1))

  ;; reach(r, R) + slack, as rules.ts computes reach (to within an ulp, inside the slack).
  (func $bound (param $r f64) (param $R f64) (param $slack f64) (result f64)
    (f64.add
      (f64.add
        (f64.mul (f64.div (f64.add (local.get $r) (local.get $R)) (f64.const 0.999999999)) (f64.const 1.000000000001))
        (f64.const 1e-12))
      (local.get $slack)))

  (func $hsum (param $v v128) (result f64)
    (f64.add (f64x2.extract_lane 0 (local.get $v)) (f64x2.extract_lane 1 (local.get $v))))

  ;; Squared gaps of q[0..4) (f64 at $q) to the box [lo, hi] (f32 at $lo, $hi), summed.
  (func $boxGap4 (param $q i32) (param $lo i32) (param $hi i32) (result f64)
    (local $l v128) (local $h v128) (local $qa v128) (local $qb v128) (local $ga v128) (local $gb v128)
    (local.set $l (v128.load (local.get $lo)))
    (local.set $h (v128.load (local.get $hi)))
    (local.set $qa (v128.load (local.get $q)))
    (local.set $qb (v128.load offset=16 (local.get $q)))
    (local.set $ga
      (f64x2.max
        (f64x2.max
          (f64x2.sub (f64x2.promote_low_f32x4 (local.get $l)) (local.get $qa))
          (f64x2.sub (local.get $qa) (f64x2.promote_low_f32x4 (local.get $h))))
        (v128.const f64x2 0 0)))
    (local.set $gb
      (f64x2.max
        (f64x2.max
          (f64x2.sub
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $l) (local.get $l)))
            (local.get $qb))
          (f64x2.sub
            (local.get $qb)
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $h) (local.get $h)))))
        (v128.const f64x2 0 0)))
    (call $hsum (f64x2.add (f64x2.mul (local.get $ga) (local.get $ga)) (f64x2.mul (local.get $gb) (local.get $gb)))))

  ;; Sum over k < n of (q[k] - p[k])^2 (q f64, p f32), four at a time, stopping once it reaches $limit.
  (func $pointSum (param $q i32) (param $p i32) (param $n i32) (param $limit f64) (result f64)
    (local $sum f64) (local $k i32) (local $v v128) (local $a v128) (local $b v128)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (br_if $done (f64.ge (local.get $sum) (local.get $limit)))
        (local.set $v (v128.load (i32.add (local.get $p) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $a
          (f64x2.sub (v128.load (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 3)))) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $b
          (f64x2.sub
            (v128.load offset=16 (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 3))))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $sum
          (f64.add (local.get $sum) (call $hsum (f64x2.add (f64x2.mul (local.get $a) (local.get $a)) (f64x2.mul (local.get $b) (local.get $b))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $next)))
    (local.get $sum))

  (func (export "search")
    (param $L i32) (param $E i32) (param $radius f64) (param $slack f64)
    (param $q i32) (param $lo i32) (param $hi i32) (param $maxR i32) (param $right i32) (param $from i32) (param $to i32)
    (param $lead i32) (param $emb i32) (param $radii i32) (param $stack i32) (param $out i32)
    (result i32)
    (local $top i32) (local $node i32) (local $row i32) (local $k i32) (local $r i32) (local $j i32) (local $end i32)
    (local $count i32) (local $qEmb i32) (local $sum f64) (local $limit f64) (local $b f64) (local $s f64)
    (local.set $qEmb (i32.add (local.get $q) (i32.shl (local.get $L) (i32.const 3))))
    (i32.store (local.get $stack) (i32.const 0))
    (local.set $top (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $top)))
        (local.set $top (i32.sub (local.get $top) (i32.const 1)))
        (local.set $node (i32.load (i32.add (local.get $stack) (i32.shl (local.get $top) (i32.const 2)))))
        (local.set $b
          (call $bound (local.get $radius) (f64.load (i32.add (local.get $maxR) (i32.shl (local.get $node) (i32.const 3)))) (local.get $slack)))
        (local.set $limit (f64.mul (local.get $b) (local.get $b)))
        ;; The node's box.
        (local.set $row (i32.mul (local.get $node) (i32.shl (local.get $L) (i32.const 2))))
        (local.set $sum (f64.const 0))
        (local.set $k (i32.const 0))
        (block $boxDone
          (loop $box
            (br_if $boxDone (i32.ge_u (local.get $k) (local.get $L)))
            (br_if $boxDone (f64.ge (local.get $sum) (local.get $limit)))
            (local.set $sum
              (f64.add (local.get $sum)
                (call $boxGap4
                  (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 3)))
                  (i32.add (i32.add (local.get $lo) (local.get $row)) (i32.shl (local.get $k) (i32.const 2)))
                  (i32.add (i32.add (local.get $hi) (local.get $row)) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $box)))
        (br_if $next (f64.ge (local.get $sum) (local.get $limit)))
        ;; An inner node: visit the left child (node + 1) first, then the right one.
        (local.set $r (i32.load (i32.add (local.get $right) (i32.shl (local.get $node) (i32.const 2)))))
        (if (i32.ge_s (local.get $r) (i32.const 0))
          (then
            (i32.store (i32.add (local.get $stack) (i32.shl (local.get $top) (i32.const 2))) (local.get $r))
            (i32.store (i32.add (local.get $stack) (i32.shl (i32.add (local.get $top) (i32.const 1)) (i32.const 2)))
              (i32.add (local.get $node) (i32.const 1)))
            (local.set $top (i32.add (local.get $top) (i32.const 2)))
            (br $next)))
        ;; A leaf: its points, leading coordinates first, then the whole embedding.
        (local.set $j (i32.load (i32.add (local.get $from) (i32.shl (local.get $node) (i32.const 2)))))
        (local.set $end (i32.load (i32.add (local.get $to) (i32.shl (local.get $node) (i32.const 2)))))
        (block $leafDone
          (loop $point
            (br_if $leafDone (i32.ge_s (local.get $j) (local.get $end)))
            (local.set $b
              (call $bound (local.get $radius) (f64.load (i32.add (local.get $radii) (i32.shl (local.get $j) (i32.const 3)))) (local.get $slack)))
            (local.set $limit (f64.mul (local.get $b) (local.get $b)))
            (local.set $s
              (call $pointSum (local.get $q) (i32.add (local.get $lead) (i32.mul (local.get $j) (i32.shl (local.get $L) (i32.const 2))))
                (local.get $L) (local.get $limit)))
            (if (f64.lt (local.get $s) (local.get $limit))
              (then
                (local.set $s
                  (call $pointSum (local.get $qEmb) (i32.add (local.get $emb) (i32.mul (local.get $j) (i32.shl (local.get $E) (i32.const 2))))
                    (local.get $E) (local.get $limit)))
                (if (f64.lt (local.get $s) (local.get $limit))
                  (then
                    (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))) (local.get $j))
                    (local.set $count (i32.add (local.get $count) (i32.const 1)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $point)))
        (br $next)))
    (local.get $count))
)
