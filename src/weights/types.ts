/** A dense float32 tensor in row-major order. Every floating weight is up-cast to this on load. */
export interface Float32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Parameter name (as in the checkpoint, e.g. `bert.encoder.layer.0.attention.self.query.weight`) → tensor. */
export type StateDict = Map<string, Float32Tensor>;
