;; The memory's per-record quantizers in SIMD (src/memory/quantize.ts copies the numbers in and
;; out of this kernel's own memory):
;;   sketch  an input's 8-bit sketch (src/memory/inputSketches.ts): codes
;;           q = min(255, floor((x - low) / step + 0.5)) over the input's own range, and the
;;           error of what they decode to, low + q step, in float64 (the same operations as the
;;           JS it replaced, two lanes at a time; only the order of the error's sum differs)
;;   encode  the 8- or 16-bit codes of a fine embedding on a grid (src/memory/codeGrid.ts):
;;           c = trunc(clamp(v / step) + limit + 1.5) - (limit + 1), v = f[order[k]] - offset[k],
;;           and the sum of (v - c step)^2; clamping with pmin / pmax keeps a NaN a NaN, as the
;;           JS did; the coordinates are gathered here, in the grid's order
;; Results go to `out` as float64: sketch: low, step, sum of e^2, sum of |e|, code sum, sum of
;; code squares; encode: the sum of squares.
(module
  (import "env" "memory" (memory 1))

  ;; input: n float32; codes: n bytes.
  (func (export "sketch") (param $input i32) (param $n i32) (param $codes i32) (param $out i32)
    (local $k i32) (local $end i32) (local $v v128) (local $lo v128) (local $hi v128) (local $x f32)
    (local $low f64) (local $high f64) (local $step f64) (local $inverse f64)
    (local $lowV v128) (local $stepV v128) (local $inverseV v128)
    (local $x2 v128) (local $q v128) (local $qf v128) (local $e v128)
    (local $squares v128) (local $absolute v128) (local $sum v128) (local $codeSquares v128)
    (local $half i32) (local $qs f64) (local $es f64)
    (local.set $end (i32.and (local.get $n) (i32.const -4)))
    ;; The range: four lanes, then the tail.
    (local.set $lo (v128.const f32x4 inf inf inf inf))
    (local.set $hi (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $k (i32.const 0))
    (block $rangeDone
      (loop $range
        (br_if $rangeDone (i32.ge_u (local.get $k) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $input) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $lo (f32x4.pmin (local.get $lo) (local.get $v)))
        (local.set $hi (f32x4.pmax (local.get $hi) (local.get $v)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $range)))
    (local.set $low
      (f64.promote_f32
        (f32.min (f32.min (f32x4.extract_lane 0 (local.get $lo)) (f32x4.extract_lane 1 (local.get $lo)))
                 (f32.min (f32x4.extract_lane 2 (local.get $lo)) (f32x4.extract_lane 3 (local.get $lo))))))
    (local.set $high
      (f64.promote_f32
        (f32.max (f32.max (f32x4.extract_lane 0 (local.get $hi)) (f32x4.extract_lane 1 (local.get $hi)))
                 (f32.max (f32x4.extract_lane 2 (local.get $hi)) (f32x4.extract_lane 3 (local.get $hi))))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $k) (local.get $n)))
        ;; Compared as the lanes are (pmin / pmax): a NaN never becomes the range.
        (local.set $x (f32.load (i32.add (local.get $input) (i32.shl (local.get $k) (i32.const 2)))))
        (if (f64.lt (f64.promote_f32 (local.get $x)) (local.get $low)) (then (local.set $low (f64.promote_f32 (local.get $x)))))
        (if (f64.gt (f64.promote_f32 (local.get $x)) (local.get $high)) (then (local.set $high (f64.promote_f32 (local.get $x)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tail)))
    (if (f64.gt (local.get $high) (local.get $low))
      (then
        (local.set $step (f64.div (f64.sub (local.get $high) (local.get $low)) (f64.const 255)))
        (local.set $inverse (f64.div (f64.const 1) (local.get $step)))))
    (local.set $lowV (f64x2.splat (local.get $low)))
    (local.set $stepV (f64x2.splat (local.get $step)))
    (local.set $inverseV (f64x2.splat (local.get $inverse)))
    ;; The codes, two lanes of float64 at a time (each half of four float32).
    (local.set $k (i32.const 0))
    (block $codesDone
      (loop $codes
        (br_if $codesDone (i32.ge_u (local.get $k) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $input) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $half (i32.const 0))
        (loop $halves
          (local.set $x2 (f64x2.promote_low_f32x4 (local.get $v)))
          (local.set $q
            (i32x4.min_s
              (i32x4.trunc_sat_f64x2_s_zero
                (f64x2.add (f64x2.mul (f64x2.sub (local.get $x2) (local.get $lowV)) (local.get $inverseV)) (v128.const f64x2 0.5 0.5)))
              (v128.const i32x4 255 255 255 255)))
          (local.set $qf (f64x2.convert_low_i32x4_s (local.get $q)))
          (local.set $e (f64x2.sub (local.get $x2) (f64x2.add (local.get $lowV) (f64x2.mul (local.get $qf) (local.get $stepV)))))
          (local.set $squares (f64x2.add (local.get $squares) (f64x2.mul (local.get $e) (local.get $e))))
          (local.set $absolute (f64x2.add (local.get $absolute) (f64x2.abs (local.get $e))))
          (local.set $sum (f64x2.add (local.get $sum) (local.get $qf)))
          (local.set $codeSquares (f64x2.add (local.get $codeSquares) (f64x2.mul (local.get $qf) (local.get $qf))))
          (i32.store8 (i32.add (local.get $codes) (i32.add (local.get $k) (local.get $half))) (i32x4.extract_lane 0 (local.get $q)))
          (i32.store8 offset=1 (i32.add (local.get $codes) (i32.add (local.get $k) (local.get $half))) (i32x4.extract_lane 1 (local.get $q)))
          ;; The upper two float32 down to the lower lanes.
          (local.set $v (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
          (local.set $half (i32.add (local.get $half) (i32.const 2)))
          (br_if $halves (i32.lt_u (local.get $half) (i32.const 4))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $codes)))
    ;; The tail, one at a time (the same operations in lane 0).
    (block $lastDone
      (loop $last
        (br_if $lastDone (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $x2 (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $input) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $q
          (i32x4.min_s
            (i32x4.trunc_sat_f64x2_s_zero
              (f64x2.add (f64x2.mul (f64x2.sub (local.get $x2) (local.get $lowV)) (local.get $inverseV)) (v128.const f64x2 0.5 0.5)))
            (v128.const i32x4 255 255 255 255)))
        (local.set $qs (f64.convert_i32_s (i32x4.extract_lane 0 (local.get $q))))
        (local.set $es (f64.sub (f64x2.extract_lane 0 (local.get $x2)) (f64.add (local.get $low) (f64.mul (local.get $qs) (local.get $step)))))
        (local.set $squares (f64x2.replace_lane 0 (local.get $squares)
          (f64.add (f64x2.extract_lane 0 (local.get $squares)) (f64.mul (local.get $es) (local.get $es)))))
        (local.set $absolute (f64x2.replace_lane 0 (local.get $absolute)
          (f64.add (f64x2.extract_lane 0 (local.get $absolute)) (f64.abs (local.get $es)))))
        (local.set $sum (f64x2.replace_lane 0 (local.get $sum) (f64.add (f64x2.extract_lane 0 (local.get $sum)) (local.get $qs))))
        (local.set $codeSquares (f64x2.replace_lane 0 (local.get $codeSquares)
          (f64.add (f64x2.extract_lane 0 (local.get $codeSquares)) (f64.mul (local.get $qs) (local.get $qs)))))
        (i32.store8 (i32.add (local.get $codes) (local.get $k)) (i32x4.extract_lane 0 (local.get $q)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $last)))
    (f64.store (local.get $out) (local.get $low))
    (f64.store offset=8 (local.get $out) (local.get $step))
    (f64.store offset=16 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $squares)) (f64x2.extract_lane 1 (local.get $squares))))
    (f64.store offset=24 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $absolute)) (f64x2.extract_lane 1 (local.get $absolute))))
    (f64.store offset=32 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $sum)) (f64x2.extract_lane 1 (local.get $sum))))
    (f64.store offset=40 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $codeSquares)) (f64x2.extract_lane 1 (local.get $codeSquares)))))

  ;; values: float64, read at order[k] (int32); offsets: n float64 (n even: the caller pads, with
  ;; an order entry of a zero value and a zero offset); codes: n int8 (wide = 0) or int16 (wide = 1).
  (func (export "encode") (param $values i32) (param $order i32) (param $offsets i32) (param $n i32) (param $step f64) (param $limit f64)
    (param $wide i32) (param $codes i32) (param $out i32)
    (local $k i32) (local $v v128) (local $x v128) (local $c v128) (local $gap v128) (local $squares v128)
    (local $inverseV v128) (local $stepV v128) (local $high v128) (local $low v128) (local $shift v128) (local $back v128)
    (local.set $inverseV (f64x2.splat (f64.div (f64.const 1) (local.get $step))))
    (local.set $stepV (f64x2.splat (local.get $step)))
    (local.set $high (f64x2.splat (local.get $limit)))
    (local.set $low (f64x2.splat (f64.neg (local.get $limit))))
    (local.set $shift (f64x2.splat (f64.add (local.get $limit) (f64.const 1.5))))
    (local.set $back (i32x4.splat (i32.trunc_f64_s (f64.add (local.get $limit) (f64.const 1)))))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $v
          (f64x2.sub
            (f64x2.replace_lane 1
              (f64x2.splat
                (f64.load (i32.add (local.get $values) (i32.shl (i32.load (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 3)))))
              (f64.load (i32.add (local.get $values) (i32.shl (i32.load offset=4 (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 3)))))
            (v128.load (i32.add (local.get $offsets) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $x (f64x2.pmax (f64x2.pmin (f64x2.mul (local.get $v) (local.get $inverseV)) (local.get $high)) (local.get $low)))
        (local.set $c (i32x4.sub (i32x4.trunc_sat_f64x2_s_zero (f64x2.add (local.get $x) (local.get $shift))) (local.get $back)))
        (local.set $gap (f64x2.sub (local.get $v) (f64x2.mul (f64x2.convert_low_i32x4_s (local.get $c)) (local.get $stepV))))
        (local.set $squares (f64x2.add (local.get $squares) (f64x2.mul (local.get $gap) (local.get $gap))))
        (if (local.get $wide)
          (then
            (i32.store16 (i32.add (local.get $codes) (i32.shl (local.get $k) (i32.const 1))) (i32x4.extract_lane 0 (local.get $c)))
            (i32.store16 offset=2 (i32.add (local.get $codes) (i32.shl (local.get $k) (i32.const 1))) (i32x4.extract_lane 1 (local.get $c))))
          (else
            (i32.store8 (i32.add (local.get $codes) (local.get $k)) (i32x4.extract_lane 0 (local.get $c)))
            (i32.store8 offset=1 (i32.add (local.get $codes) (local.get $k)) (i32x4.extract_lane 1 (local.get $c)))))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $pairs)))
    (f64.store (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $squares)) (f64x2.extract_lane 1 (local.get $squares)))))
)
