;; Relaxed SIMD instructions that clang 14 (Debian's emcc 3.1.6) cannot emit, as functions for the
;; C kernels of the relaxed build (NEURONOS_WASM_RELAXED). Assembled by CMake with
;;   wat2wasm --enable-relaxed-simd -r relaxed-simd.wat -o relaxed-simd.o
;; into a relocatable object that wasm-ld links like any other; wasm-opt (-O3 link) inlines these
;; one-instruction functions into their callers.
;;
;; wabt 1.0.32 still spells the instruction with its pre-standard name, i16x8.dot_i8x16_i7x16_s; the
;; bytes are the standard opcode 0xfd 0x112 (i16x8.relaxed_dot_i8x16_i7x16_s). Binaryen 108 (emcc
;; 3.1.6's wasm-opt) reads 0x112 correctly; it misreads 0x113 (i32x4.relaxed_dot_i8x16_i7x16_add_s)
;; and V8 11.3's baseline compiler gets that one wrong too, so it is not used.
(module
  ;; lane m = a[2m] * b[2m] + a[2m+1] * b[2m+1] (a signed, b in 0..127: deterministic on every engine)
  (func $ggml_wasm_relaxed_dot_i8x16_i7x16_s (export "ggml_wasm_relaxed_dot_i8x16_i7x16_s")
    (param $a v128) (param $b v128) (result v128)
    local.get $a
    local.get $b
    i16x8.dot_i8x16_i7x16_s))
