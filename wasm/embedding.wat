;; The block embedding of an input (src/memory/projection.ts) for square images cut into 2x2
;; fine tiles: each tile's mean and deviation norm, then each coarse block's coordinate and
;; deviation norm from its fine tiles, with the same float64 operations in the same order as the
;; JS loops (projection.ts, embed), so the numbers are the same (a zero's sign aside): two tiles
;; per pass in the two float64 lanes, each lane as the scalar code.
(module
  (import "env" "memory" (memory 1))

  ;; mean[f] = (v0 + v1 + v2 + v3) / 4 and dev[f] = sqrt(d0^2 + d1^2 + d2^2 + d3^2), d = v - mean,
  ;; for the 2x2 tiles of the side x side float32 image at $x, row-major (side a multiple of 4).
  (func $tiles (param $x i32) (param $side i32) (param $mean i32) (param $dev i32)
    (local $r i32) (local $c i32) (local $row i32) (local $below i32) (local $f i32) (local $stride i32)
    (local $top v128) (local $bottom v128) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $m v128) (local $d v128) (local $s v128)
    (local.set $stride (i32.shl (local.get $side) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $side)))
        (local.set $row (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $stride))))
        (local.set $below (i32.add (local.get $row) (local.get $stride)))
        (local.set $c (i32.const 0))
        ;; Two tiles (4 columns) per pass.
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $side)))
            (local.set $top (v128.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $bottom (v128.load (i32.add (local.get $below) (i32.shl (local.get $c) (i32.const 2)))))
            ;; Lane 0: the left tile, lane 1: the right one.
            (local.set $v0 (f64x2.promote_low_f32x4 (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $top) (local.get $top))))
            (local.set $v1 (f64x2.promote_low_f32x4 (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $top) (local.get $top))))
            (local.set $v2 (f64x2.promote_low_f32x4 (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $bottom) (local.get $bottom))))
            (local.set $v3 (f64x2.promote_low_f32x4 (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $bottom) (local.get $bottom))))
            ;; x 0.25 is x / 4 exactly, and cheaper.
            (local.set $m
              (f64x2.mul
                (f64x2.add (f64x2.add (f64x2.add (local.get $v0) (local.get $v1)) (local.get $v2)) (local.get $v3))
                (v128.const f64x2 0.25 0.25)))
            (local.set $d (f64x2.sub (local.get $v0) (local.get $m)))
            (local.set $s (f64x2.mul (local.get $d) (local.get $d)))
            (local.set $d (f64x2.sub (local.get $v1) (local.get $m)))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $d (f64x2.sub (local.get $v2) (local.get $m)))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $d (f64x2.sub (local.get $v3) (local.get $m)))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $d) (local.get $d))))
            (v128.store (i32.add (local.get $mean) (i32.shl (local.get $f) (i32.const 3))) (local.get $m))
            (v128.store (i32.add (local.get $dev) (i32.shl (local.get $f) (i32.const 3))) (f64x2.sqrt (local.get $s)))
            (local.set $f (i32.add (local.get $f) (i32.const 2)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $pairs)))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br $rows)))
  )

  ;; The whole embedding into $out (float64): [dims coarse coordinates | dims coarse deviation
  ;; norms], and from $fine [fineDims fine coordinates | fineDims fine deviation norms]; $mean is
  ;; scratch for fineDims float64. The coarse block b holds the fine tiles fineList[fineOf[b] ..
  ;; fineOf[b + 1]) (int32 tables), of sizes fineSize (float64), with rootSize[f] =
  ;; sqrt(fineSize[f]) and scale[b] = 1 / sqrt(its size).
  (func (export "embed")
    (param $x i32) (param $side i32) (param $dims i32) (param $fineDims i32) (param $fineOf i32) (param $fineList i32)
    (param $fineSize i32) (param $rootSize i32) (param $scale i32) (param $mean i32) (param $out i32) (param $fine i32)
    (local $b i32) (local $k i32) (local $end i32) (local $f i32) (local $fineDev i32)
    (local $sum f64) (local $size f64) (local $blockMean f64) (local $dev f64) (local $gap f64) (local $own f64) (local $fs f64)
    (local.set $fineDev (i32.add (local.get $fine) (i32.shl (local.get $fineDims) (i32.const 3))))
    (call $tiles (local.get $x) (local.get $side) (local.get $mean) (local.get $fineDev))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $b) (local.get $dims)))
        (local.set $end (i32.load offset=4 (i32.add (local.get $fineOf) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $sum (f64.const 0))
        (local.set $size (f64.const 0))
        (local.set $k (i32.load (i32.add (local.get $fineOf) (i32.shl (local.get $b) (i32.const 2)))))
        (block $sumsDone
          (loop $sums
            (br_if $sumsDone (i32.ge_s (local.get $k) (local.get $end)))
            (local.set $f (i32.shl (i32.load (i32.add (local.get $fineList) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 3)))
            (local.set $fs (f64.load (i32.add (local.get $fineSize) (local.get $f))))
            (local.set $sum (f64.add (local.get $sum) (f64.mul (f64.load (i32.add (local.get $mean) (local.get $f))) (local.get $fs))))
            (local.set $size (f64.add (local.get $size) (local.get $fs)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $sums)))
        (local.set $blockMean (f64.div (local.get $sum) (local.get $size)))
        (local.set $dev (f64.const 0))
        (local.set $k (i32.load (i32.add (local.get $fineOf) (i32.shl (local.get $b) (i32.const 2)))))
        (block $devsDone
          (loop $devs
            (br_if $devsDone (i32.ge_s (local.get $k) (local.get $end)))
            (local.set $f (i32.shl (i32.load (i32.add (local.get $fineList) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 3)))
            (local.set $gap (f64.sub (f64.load (i32.add (local.get $mean) (local.get $f))) (local.get $blockMean)))
            (local.set $own (f64.load (i32.add (local.get $fineDev) (local.get $f))))
            (local.set $dev
              (f64.add (local.get $dev)
                (f64.add (f64.mul (local.get $own) (local.get $own))
                  (f64.mul (f64.mul (f64.load (i32.add (local.get $fineSize) (local.get $f))) (local.get $gap)) (local.get $gap)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $devs)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $b) (i32.const 3))) (f64.mul (local.get $sum) (f64.load (i32.add (local.get $scale) (i32.shl (local.get $b) (i32.const 3))))))
        (f64.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $dims) (local.get $b)) (i32.const 3))) (f64.sqrt (local.get $dev)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $blocks)))
    ;; The fine coordinates: mean x sqrt(size).
    (local.set $f (i32.const 0))
    (block $finesDone
      (loop $fines
        (br_if $finesDone (i32.ge_u (local.get $f) (local.get $fineDims)))
        (f64.store (i32.add (local.get $fine) (i32.shl (local.get $f) (i32.const 3)))
          (f64.mul (f64.load (i32.add (local.get $mean) (i32.shl (local.get $f) (i32.const 3))))
            (f64.load (i32.add (local.get $rootSize) (i32.shl (local.get $f) (i32.const 3))))))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $fines)))
  )
)
