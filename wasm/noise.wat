;; Noise kernel: the hot loop of src/engine/noise.ts (fillNoisyBatch) in WebAssembly SIMD.
;; It computes bit for bit what the pure-JS reference computes (test/noise.test.ts checks it):
;; four xoshiro128** lanes step together in one i32x4, draw k comes from lane k mod 4, the
;; ziggurat's fast path and the grid rounding q run on two f64x2 halves. The rare draws outside
;; a layer's inner rectangle (1.5%) take the exact slow path in scalar code on that lane alone,
;; with the same operations in the same order as noise.ts; exp and log are JS's Math.exp and
;; Math.log, imported (V8 calls them directly), so that they round as the reference does.
;;
;; Memory layout (kept in step with src/engine/noiseKernel.ts):
;;   [0, 2056)     ziggurat widths x[0..256], f64 (x[i] and x[i+1] are one v128 load)
;;   [2560, 4616)  densities f[0..256] = exp(-x[i]^2 / 2), f64
;;   [5120, 5184)  lane states: s0 of lanes 0..3, then s1, s2, s3 (u32)
;;   [5184, 5192)  r, the start of the tail, f64
;;   from 8192     the input x (f32, d values), then the output rows (f32)
;; Preconditions (checked in JS): d and count are multiples of 4, the stream is at lane 0.
(module
  (import "Math" "exp" (func $exp (param f64) (result f64)))
  (import "Math" "log" (func $log (param f64) (result f64)))
  (memory (export "memory") 1)

  ;; Scalar xoshiro128** on lane $lane's state in memory (slow path only).
  (func $next (param $lane i32) (result i32)
    (local $at i32) (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $t i32) (local $result i32)
    (local.set $at (i32.add (i32.const 5120) (i32.shl (local.get $lane) (i32.const 2))))
    (local.set $s0 (i32.load offset=0 (local.get $at)))
    (local.set $s1 (i32.load offset=16 (local.get $at)))
    (local.set $s2 (i32.load offset=32 (local.get $at)))
    (local.set $s3 (i32.load offset=48 (local.get $at)))
    (local.set $result (i32.mul (i32.rotl (i32.mul (local.get $s1) (i32.const 5)) (i32.const 7)) (i32.const 9)))
    (local.set $t (i32.shl (local.get $s1) (i32.const 9)))
    (local.set $s2 (i32.xor (local.get $s2) (local.get $s0)))
    (local.set $s3 (i32.xor (local.get $s3) (local.get $s1)))
    (local.set $s1 (i32.xor (local.get $s1) (local.get $s2)))
    (local.set $s0 (i32.xor (local.get $s0) (local.get $s3)))
    (local.set $s2 (i32.xor (local.get $s2) (local.get $t)))
    (local.set $s3 (i32.rotl (local.get $s3) (i32.const 11)))
    (i32.store offset=0 (local.get $at) (local.get $s0))
    (i32.store offset=16 (local.get $at) (local.get $s1))
    (i32.store offset=32 (local.get $at) (local.get $s2))
    (i32.store offset=48 (local.get $at) (local.get $s3))
    (local.get $result))

  ;; XoshiroLane.nextDouble: (hi27 * 2^26 + lo26) * 2^-53.
  (func $double (param $lane i32) (result f64)
    (local $hi i32)
    (local.set $hi (i32.shr_u (call $next (local.get $lane)) (i32.const 5)))
    (f64.mul
      (f64.add
        (f64.mul (f64.convert_i32_u (local.get $hi)) (f64.const 0x1p26))
        (f64.convert_i32_u (i32.shr_u (call $next (local.get $lane)) (i32.const 6))))
      (f64.const 0x1p-53)))

  ;; laneGaussian of noise.ts: one complete ziggurat draw on one lane.
  (func $gaussian (param $lane i32) (result f64)
    (local $bits i32) (local $layer i32) (local $z f64)
    (local.set $bits (call $next (local.get $lane)))
    (local.set $layer (i32.and (local.get $bits) (i32.const 255)))
    (local.set $z (f64.mul
      (f64.mul
        (f64.add
          (f64.mul (f64.convert_i32_u (i32.shr_u (local.get $bits) (i32.const 9))) (f64.const 0x1p32))
          (f64.convert_i32_u (call $next (local.get $lane))))
        (f64.const 0x1p-55))
      (f64.load (i32.shl (local.get $layer) (i32.const 3)))))
    (if (f64.lt (local.get $z) (f64.load offset=8 (i32.shl (local.get $layer) (i32.const 3))))
      (then (return (select (f64.neg (local.get $z)) (local.get $z) (i32.and (local.get $bits) (i32.const 0x100))))))
    (call $finish (local.get $lane) (local.get $layer) (local.get $z) (i32.and (local.get $bits) (i32.const 0x100))))

  ;; finishGaussian of noise.ts: the tail (layer 0) or the wedge test, else a fresh draw.
  (func $finish (param $lane i32) (param $layer i32) (param $z f64) (param $negative i32) (result f64)
    (local $r f64) (local $a f64) (local $b f64) (local $f i32)
    (if (i32.eqz (local.get $layer))
      (then
        (local.set $r (f64.load (i32.const 5184)))
        (loop $tail
          (local.set $a (f64.div (f64.neg (call $log (f64.sub (f64.const 1) (call $double (local.get $lane))))) (local.get $r)))
          (local.set $b (f64.neg (call $log (f64.sub (f64.const 1) (call $double (local.get $lane))))))
          (br_if $tail (i32.eqz (f64.ge (f64.mul (f64.const 2) (local.get $b)) (f64.mul (local.get $a) (local.get $a))))))
        (local.set $a (f64.add (local.get $r) (local.get $a)))
        (return (select (f64.neg (local.get $a)) (local.get $a) (local.get $negative)))))
    (local.set $f (i32.add (i32.const 2560) (i32.shl (local.get $layer) (i32.const 3))))
    (if (f64.lt
          (f64.add (f64.load (local.get $f))
            (f64.mul (call $double (local.get $lane)) (f64.sub (f64.load offset=8 (local.get $f)) (f64.load (local.get $f)))))
          (call $exp (f64.mul (f64.mul (f64.const -0.5) (local.get $z)) (local.get $z))))
      (then (return (select (f64.neg (local.get $z)) (local.get $z) (local.get $negative)))))
    (call $gaussian (local.get $lane)))

  ;; out[k] = q(x[k mod d] + sigma * eps_k), eps_k ~ N(0, 1), k = 0..count-1.
  (func (export "gaussian") (param $x i32) (param $d i32) (param $sigma f64) (param $out i32) (param $count i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t v128) (local $bits v128) (local $low v128) (local $hi v128)
    (local $pair0 v128) (local $pair1 v128) (local $pair2 v128) (local $pair3 v128)
    (local $zA v128) (local $zB v128) (local $epsA v128) (local $epsB v128)
    (local $sign v128) (local $xs v128) (local $sigmas v128)
    (local $layer0 i32) (local $layer1 i32) (local $layer2 i32) (local $layer3 i32)
    (local $accepted i32) (local $k i32) (local $j i32) (local $r v128) (local $qA v128)
    (local.set $s0 (v128.load (i32.const 5120)))
    (local.set $s1 (v128.load (i32.const 5136)))
    (local.set $s2 (v128.load (i32.const 5152)))
    (local.set $s3 (v128.load (i32.const 5168)))
    (local.set $sigmas (f64x2.splat (local.get $sigma)))
    ;; The inner loop makes no calls, so that V8 keeps its vectors in registers; a group of four
    ;; draws with a slow one leaves it for the outer loop, which finishes the group and comes back.
    (block $done
      (loop $groups
        (block $slow
          (loop $fast
            (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
            ;; First xoshiro128** output of each lane: layer, sign and the high 23 bits of the uniform.
            (local.set $t (i32x4.mul (local.get $s1) (i32x4.splat (i32.const 5))))
            (local.set $bits (i32x4.mul
              (v128.or (i32x4.shl (local.get $t) (i32.const 7)) (i32x4.shr_u (local.get $t) (i32.const 25)))
              (i32x4.splat (i32.const 9))))
            (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
            (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
            (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
            (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
            (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
            (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
            (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
            ;; Second output: the low 32 bits of the uniform.
            (local.set $t (i32x4.mul (local.get $s1) (i32x4.splat (i32.const 5))))
            (local.set $low (i32x4.mul
              (v128.or (i32x4.shl (local.get $t) (i32.const 7)) (i32x4.shr_u (local.get $t) (i32.const 25)))
              (i32x4.splat (i32.const 9))))
            (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
            (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
            (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
            (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
            (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
            (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
            (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
            ;; (x[layer], x[layer + 1]) of each lane: one load each, then transposed into A (lanes 0, 1), B (lanes 2, 3).
            (local.set $layer0 (i32.and (i32x4.extract_lane 0 (local.get $bits)) (i32.const 255)))
            (local.set $layer1 (i32.and (i32x4.extract_lane 1 (local.get $bits)) (i32.const 255)))
            (local.set $layer2 (i32.and (i32x4.extract_lane 2 (local.get $bits)) (i32.const 255)))
            (local.set $layer3 (i32.and (i32x4.extract_lane 3 (local.get $bits)) (i32.const 255)))
            (local.set $pair0 (v128.load align=8 (i32.shl (local.get $layer0) (i32.const 3))))
            (local.set $pair1 (v128.load align=8 (i32.shl (local.get $layer1) (i32.const 3))))
            (local.set $pair2 (v128.load align=8 (i32.shl (local.get $layer2) (i32.const 3))))
            (local.set $pair3 (v128.load align=8 (i32.shl (local.get $layer3) (i32.const 3))))
            ;; z = ((bits >>> 9) * 2^32 + low) * 2^-55 * x[layer], in this order, as in JS.
            (local.set $hi (i32x4.shr_u (local.get $bits) (i32.const 9)))
            (local.set $zA (f64x2.mul
              (f64x2.mul
                (f64x2.add
                  (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $hi)) (f64x2.splat (f64.const 0x1p32)))
                  (f64x2.convert_low_i32x4_u (local.get $low)))
                (f64x2.splat (f64.const 0x1p-55)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $pair0) (local.get $pair1))))
            (local.set $zB (f64x2.mul
              (f64x2.mul
                (f64x2.add
                  (f64x2.mul
                    (f64x2.convert_low_i32x4_u (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $hi) (local.get $hi)))
                    (f64x2.splat (f64.const 0x1p32)))
                  (f64x2.convert_low_i32x4_u (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $low) (local.get $low))))
                (f64x2.splat (f64.const 0x1p-55)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $pair2) (local.get $pair3))))
            ;; Bit 8 of bits is the sign: moved to bit 63 of each f64 lane.
            (local.set $sign (i32x4.shl (v128.and (local.get $bits) (i32x4.splat (i32.const 0x100))) (i32.const 23)))
            (local.set $epsA (v128.xor (local.get $zA)
              (i8x16.shuffle 16 16 16 16 0 1 2 3 16 16 16 16 4 5 6 7 (local.get $sign) (v128.const i32x4 0 0 0 0))))
            (local.set $epsB (v128.xor (local.get $zB)
              (i8x16.shuffle 16 16 16 16 8 9 10 11 16 16 16 16 12 13 14 15 (local.get $sign) (v128.const i32x4 0 0 0 0))))
            ;; Fast path: z < x[layer + 1] in every lane (one bit per lane).
            (local.set $accepted (i32.or
              (i64x2.bitmask (f64x2.lt (local.get $zA)
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $pair0) (local.get $pair1))))
              (i32.shl
                (i64x2.bitmask (f64x2.lt (local.get $zB)
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $pair2) (local.get $pair3))))
                (i32.const 2))))
            (br_if $slow (i32.ne (local.get $accepted) (i32.const 15)))
            ;; All four on the fast path: q(x + sigma * eps), as $quantize4 (inlined here).
            (local.set $xs (v128.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $t (f64x2.mul
              (f64x2.add (f64x2.promote_low_f32x4 (local.get $xs)) (f64x2.mul (local.get $sigmas) (local.get $epsA)))
              (f64x2.splat (f64.const 0x1p20))))
            (local.set $r (f64x2.nearest (local.get $t)))
            (local.set $qA (f64x2.mul
              (f64x2.sub (local.get $r)
                (v128.and (f64x2.eq (f64x2.sub (local.get $t) (local.get $r)) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const -1))))
              (f64x2.splat (f64.const 0x1p-20))))
            (local.set $t (f64x2.mul
              (f64x2.add
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $xs) (local.get $xs)))
                (f64x2.mul (local.get $sigmas) (local.get $epsB)))
              (f64x2.splat (f64.const 0x1p20))))
            (local.set $r (f64x2.nearest (local.get $t)))
            (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                (f32x4.demote_f64x2_zero (local.get $qA))
                (f32x4.demote_f64x2_zero (f64x2.mul
                  (f64x2.sub (local.get $r)
                    (v128.and (f64x2.eq (f64x2.sub (local.get $t) (local.get $r)) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const -1))))
                  (f64x2.splat (f64.const 0x1p-20))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (if (i32.eq (local.get $j) (local.get $d)) (then (local.set $j (i32.const 0))))
            (br $fast)))
          ;; Slow path, lane by lane, on the states in memory.
          (v128.store (i32.const 5120) (local.get $s0))
          (v128.store (i32.const 5136) (local.get $s1))
          (v128.store (i32.const 5152) (local.get $s2))
          (v128.store (i32.const 5168) (local.get $s3))
          (if (i32.eqz (i32.and (local.get $accepted) (i32.const 1)))
            (then (local.set $epsA (f64x2.replace_lane 0 (local.get $epsA)
              (call $finish (i32.const 0) (local.get $layer0) (f64x2.extract_lane 0 (local.get $zA))
                (i32.and (i32x4.extract_lane 0 (local.get $bits)) (i32.const 0x100)))))))
          (if (i32.eqz (i32.and (local.get $accepted) (i32.const 2)))
            (then (local.set $epsA (f64x2.replace_lane 1 (local.get $epsA)
              (call $finish (i32.const 1) (local.get $layer1) (f64x2.extract_lane 1 (local.get $zA))
                (i32.and (i32x4.extract_lane 1 (local.get $bits)) (i32.const 0x100)))))))
          (if (i32.eqz (i32.and (local.get $accepted) (i32.const 4)))
            (then (local.set $epsB (f64x2.replace_lane 0 (local.get $epsB)
              (call $finish (i32.const 2) (local.get $layer2) (f64x2.extract_lane 0 (local.get $zB))
                (i32.and (i32x4.extract_lane 2 (local.get $bits)) (i32.const 0x100)))))))
          (if (i32.eqz (i32.and (local.get $accepted) (i32.const 8)))
            (then (local.set $epsB (f64x2.replace_lane 1 (local.get $epsB)
              (call $finish (i32.const 3) (local.get $layer3) (f64x2.extract_lane 1 (local.get $zB))
                (i32.and (i32x4.extract_lane 3 (local.get $bits)) (i32.const 0x100)))))))
          (local.set $s0 (v128.load (i32.const 5120)))
          (local.set $s1 (v128.load (i32.const 5136)))
          (local.set $s2 (v128.load (i32.const 5152)))
          (local.set $s3 (v128.load (i32.const 5168)))
          (local.set $xs (v128.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2)))))
          (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
            (call $quantize4 (local.get $xs) (local.get $sigmas) (local.get $epsA) (local.get $epsB)))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (if (i32.eq (local.get $j) (local.get $d)) (then (local.set $j (i32.const 0))))
          (br $groups)))
    (v128.store (i32.const 5120) (local.get $s0))
    (v128.store (i32.const 5136) (local.get $s1))
    (v128.store (i32.const 5152) (local.get $s2))
    (v128.store (i32.const 5168) (local.get $s3)))

  ;; out[k] = q(x[k mod d] + sigma * (2u - 1)), u uniform with 53 bits, k = 0..count-1.
  (func (export "uniform") (param $x i32) (param $d i32) (param $sigma f64) (param $out i32) (param $count i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t v128) (local $high v128) (local $low v128) (local $sigmas v128)
    (local $k i32) (local $j i32)
    (local.set $s0 (v128.load (i32.const 5120)))
    (local.set $s1 (v128.load (i32.const 5136)))
    (local.set $s2 (v128.load (i32.const 5152)))
    (local.set $s3 (v128.load (i32.const 5168)))
    (local.set $sigmas (f64x2.splat (local.get $sigma)))
    (block $done
      (loop $draws
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $t (i32x4.mul (local.get $s1) (i32x4.splat (i32.const 5))))
        (local.set $high (i32x4.shr_u
          (i32x4.mul
            (v128.or (i32x4.shl (local.get $t) (i32.const 7)) (i32x4.shr_u (local.get $t) (i32.const 25)))
            (i32x4.splat (i32.const 9)))
          (i32.const 5)))
        (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
        (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
        (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
        (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
        (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
        (local.set $t (i32x4.mul (local.get $s1) (i32x4.splat (i32.const 5))))
        (local.set $low (i32x4.shr_u
          (i32x4.mul
            (v128.or (i32x4.shl (local.get $t) (i32.const 7)) (i32x4.shr_u (local.get $t) (i32.const 25)))
            (i32x4.splat (i32.const 9)))
          (i32.const 6)))
        (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
        (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
        (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
        (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
        (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
        ;; eps = 2 ((high * 2^26 + low) * 2^-53) - 1, as JS computes 2 * nextDouble() - 1.
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
          (call $quantize4
            (v128.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 2))))
            (local.get $sigmas)
            (f64x2.sub
              (f64x2.mul
                (f64x2.mul
                  (f64x2.add
                    (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $high)) (f64x2.splat (f64.const 0x1p26)))
                    (f64x2.convert_low_i32x4_u (local.get $low)))
                  (f64x2.splat (f64.const 0x1p-53)))
                (f64x2.splat (f64.const 2)))
              (f64x2.splat (f64.const 1)))
            (f64x2.sub
              (f64x2.mul
                (f64x2.mul
                  (f64x2.add
                    (f64x2.mul
                      (f64x2.convert_low_i32x4_u (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $high) (local.get $high)))
                      (f64x2.splat (f64.const 0x1p26)))
                    (f64x2.convert_low_i32x4_u (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $low) (local.get $low))))
                  (f64x2.splat (f64.const 0x1p-53)))
                (f64x2.splat (f64.const 2)))
              (f64x2.splat (f64.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (if (i32.eq (local.get $j) (local.get $d)) (then (local.set $j (i32.const 0))))
        (br $draws)))
    (v128.store (i32.const 5120) (local.get $s0))
    (v128.store (i32.const 5136) (local.get $s1))
    (v128.store (i32.const 5152) (local.get $s2))
    (v128.store (i32.const 5168) (local.get $s3)))

  ;; Four values q(x + sigma * eps) as f32, eps in two f64x2 halves. q is soundness.ts's quantize:
  ;; Math.round(v * 2^20) * 2^-20, where Math.round rounds ties up; f64x2.nearest rounds ties to
  ;; even (and keeps the sign of zero like Math.round), so exact ties t - r = 0.5 get r - (-1);
  ;; subtracting +0 otherwise keeps -0, where adding +0 would not.
  (func $quantize4 (param $xs v128) (param $sigmas v128) (param $epsA v128) (param $epsB v128) (result v128)
    (local $t v128) (local $r v128) (local $qA v128)
    (local.set $t (f64x2.mul
      (f64x2.add (f64x2.promote_low_f32x4 (local.get $xs)) (f64x2.mul (local.get $sigmas) (local.get $epsA)))
      (f64x2.splat (f64.const 0x1p20))))
    (local.set $r (f64x2.nearest (local.get $t)))
    (local.set $qA (f64x2.mul
      (f64x2.sub (local.get $r)
        (v128.and (f64x2.eq (f64x2.sub (local.get $t) (local.get $r)) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const -1))))
      (f64x2.splat (f64.const 0x1p-20))))
    (local.set $t (f64x2.mul
      (f64x2.add
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $xs) (local.get $xs)))
        (f64x2.mul (local.get $sigmas) (local.get $epsB)))
      (f64x2.splat (f64.const 0x1p20))))
    (local.set $r (f64x2.nearest (local.get $t)))
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (local.get $qA))
      (f32x4.demote_f64x2_zero (f64x2.mul
        (f64x2.sub (local.get $r)
          (v128.and (f64x2.eq (f64x2.sub (local.get $t) (local.get $r)) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const -1))))
        (f64x2.splat (f64.const 0x1p-20)))))))
