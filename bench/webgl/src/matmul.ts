/**
 * A WebGL2 fragment-shader matrix product over GGUF-quantized weights, the
 * prototype behind docs/webgl.md.
 *
 * The weight blocks go into an R32UI texture exactly as stored in the file (one
 * little-endian 32-bit word per texel, rows back to back) and are dequantized in
 * the shader; activations are an RGBA32F texture (4 columns per texel, one
 * token per texture row); each fragment of an RGBA32F render target computes 4
 * consecutive output rows of one token, and the result comes back with
 * `readPixels` (EXT_color_buffer_float). WebGL2 has no compute shaders and no
 * storage buffers, so this is the whole toolbox: texelFetch in, one vec4 out.
 */

/** Block types the shader reads: those of SmolLM2-135M Q4_1 (layers Q4_1, output Q8_0). */
export type QuantType = 'Q4_1' | 'Q8_0';

/** Bytes per 32-element block, as in GGUF. */
export const BLOCK_BYTES: Record<QuantType, number> = { Q4_1: 20, Q8_0: 34 };

/** A weight matrix resident on the GPU. */
export interface GlMatrix {
  readonly type: QuantType;
  readonly rows: number;
  readonly cols: number;
  /** Bytes the texture holds (the matrix as stored, padded to whole texture rows). */
  readonly textureBytes: number;
  readonly texture: WebGLTexture;
  readonly texWidth: number;
}

/** What the context runs on (SwiftShader in headless Chromium without a GPU). */
export interface GlInfo {
  renderer: string;
  vendor: string;
  version: string;
  shadingLanguage: string;
  maxTextureSize: number;
  maxViewportDims: [number, number];
  highpFloatPrecision: number;
}

/** Why the prototype cannot run here; `code` is stable. */
export class WebGlMatmulError extends Error {
  constructor(
    readonly code: 'WEBGL2_UNAVAILABLE' | 'FLOAT_RENDER_UNAVAILABLE' | 'BAD_INPUT' | 'SHADER',
    message: string,
  ) {
    super(message);
    this.name = 'WebGlMatmulError';
  }
}

const VERTEX = `#version 300 es
void main() {
  // One triangle covering the viewport, from gl_VertexID alone (no buffers).
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

/** The shared part of both fragment shaders: which 4 rows and token this fragment computes. */
const FRAGMENT_HEAD = `#version 300 es
precision highp float;
precision highp int;
precision highp usampler2D;
precision highp sampler2D;
uniform usampler2D W;   // weight words, row-major, texWidth words per texture row
uniform sampler2D X;    // activations: texel (c/4, token)
uniform int texWidth;   // W's width
uniform int groups;     // output rows / 4
uniform int total;      // groups * tokens
uniform int outWidth;   // render target width
uniform int rowBytes;   // bytes per weight row
uniform int nBlocks;    // 32-element blocks per row
out vec4 result;

uint word(int i) { return texelFetch(W, ivec2(i % texWidth, i / texWidth), 0).r; }
`;

/**
 * Q4_1: {f16 d, f16 m, 16 bytes of nibbles}, 20 bytes = 5 aligned words; element j
 * is the low nibble of byte j, element j+16 its high nibble; value = q·d + m.
 */
const Q4_1_BODY = `
void main() {
  int id = int(gl_FragCoord.y) * outWidth + int(gl_FragCoord.x);
  if (id >= total) { result = vec4(0.0); return; }
  int tok = id / groups;
  int row0 = (id - tok * groups) * 4;
  vec4 acc = vec4(0.0);
  for (int b = 0; b < nBlocks; b++) {
    vec4 xl[4];
    vec4 xh[4];
    float sx = 0.0;
    for (int k = 0; k < 4; k++) {
      xl[k] = texelFetch(X, ivec2(b * 8 + k, tok), 0);
      xh[k] = texelFetch(X, ivec2(b * 8 + 4 + k, tok), 0);
      sx += dot(xl[k] + xh[k], vec4(1.0));
    }
    for (int r = 0; r < 4; r++) {
      int w0 = ((row0 + r) * rowBytes + b * 20) >> 2;
      vec2 dm = unpackHalf2x16(word(w0));
      float s = 0.0;
      for (int k = 0; k < 4; k++) {
        uint q = word(w0 + 1 + k);
        uvec4 lo = (uvec4(q) >> uvec4(0u, 8u, 16u, 24u)) & 15u;
        uvec4 hi = (uvec4(q) >> uvec4(4u, 12u, 20u, 28u)) & 15u;
        s += dot(vec4(lo), xl[k]) + dot(vec4(hi), xh[k]);
      }
      acc[r] += dm.x * s + dm.y * sx;
    }
  }
  result = acc;
}`;

/**
 * Q8_0: {f16 d, 32 int8}, 34 bytes, so a block starts on a word or half-word
 * boundary; 9 words cover it either way and the quants are re-aligned with shifts.
 */
const Q8_0_BODY = `
void main() {
  int id = int(gl_FragCoord.y) * outWidth + int(gl_FragCoord.x);
  if (id >= total) { result = vec4(0.0); return; }
  int tok = id / groups;
  int row0 = (id - tok * groups) * 4;
  vec4 acc = vec4(0.0);
  for (int b = 0; b < nBlocks; b++) {
    vec4 x[8];
    for (int k = 0; k < 8; k++) x[k] = texelFetch(X, ivec2(b * 8 + k, tok), 0);
    for (int r = 0; r < 4; r++) {
      int off = (row0 + r) * rowBytes + b * 34;
      int w0 = off >> 2;
      bool half_ = (off & 2) != 0;
      uint w[9];
      for (int k = 0; k < 9; k++) w[k] = word(w0 + k);
      float d = half_ ? unpackHalf2x16(w[0] >> 16).x : unpackHalf2x16(w[0]).x;
      float s = 0.0;
      for (int k = 0; k < 8; k++) {
        uint q = half_ ? w[k + 1] : (w[k] >> 16) | (w[k + 1] << 16);
        ivec4 v = ivec4(uvec4(q) << uvec4(24u, 16u, 8u, 0u)) >> 24;
        s += dot(vec4(v), x[k]);
      }
      acc[r] += d * s;
    }
  }
  result = acc;
}`;

function compile(gl: WebGL2RenderingContext, type: number, src: string): WebGLShader {
  const s = gl.createShader(type);
  if (!s) throw new WebGlMatmulError('SHADER', 'createShader failed');
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS))
    throw new WebGlMatmulError('SHADER', `shader: ${gl.getShaderInfoLog(s)}`);
  return s;
}

interface Program {
  program: WebGLProgram;
  loc: Record<string, WebGLUniformLocation | null>;
}

/** Quantized matrix products on a WebGL2 context. */
export class WebGlMatmul {
  readonly info: GlInfo;
  private readonly programs = new Map<QuantType, Program>();
  private readonly xTex: WebGLTexture;
  private readonly outTex: WebGLTexture;
  private readonly fbo: WebGLFramebuffer;
  private xShape = [0, 0];
  private outShape = [0, 0];

  private constructor(readonly gl: WebGL2RenderingContext) {
    const dbg = gl.getExtension('WEBGL_debug_renderer_info');
    const vp = gl.getParameter(gl.MAX_VIEWPORT_DIMS) as Int32Array;
    this.info = {
      renderer: String(gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER)),
      vendor: String(gl.getParameter(dbg ? dbg.UNMASKED_VENDOR_WEBGL : gl.VENDOR)),
      version: String(gl.getParameter(gl.VERSION)),
      shadingLanguage: String(gl.getParameter(gl.SHADING_LANGUAGE_VERSION)),
      maxTextureSize: gl.getParameter(gl.MAX_TEXTURE_SIZE) as number,
      maxViewportDims: [vp[0] ?? 0, vp[1] ?? 0],
      highpFloatPrecision:
        gl.getShaderPrecisionFormat(gl.FRAGMENT_SHADER, gl.HIGH_FLOAT)?.precision ?? 0,
    };
    const tex = () => {
      const t = gl.createTexture();
      if (!t) throw new WebGlMatmulError('WEBGL2_UNAVAILABLE', 'createTexture failed');
      return t;
    };
    this.xTex = tex();
    this.outTex = tex();
    const fbo = gl.createFramebuffer();
    if (!fbo) throw new WebGlMatmulError('WEBGL2_UNAVAILABLE', 'createFramebuffer failed');
    this.fbo = fbo;
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
  }

  /** A WebGL2 context on an offscreen canvas, with float render targets. */
  static create(): WebGlMatmul {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2', { antialias: false, depth: false, stencil: false });
    if (!gl) throw new WebGlMatmulError('WEBGL2_UNAVAILABLE', 'no WebGL2 context');
    if (!gl.getExtension('EXT_color_buffer_float'))
      throw new WebGlMatmulError('FLOAT_RENDER_UNAVAILABLE', 'no EXT_color_buffer_float');
    return new WebGlMatmul(gl);
  }

  /** Uploads `rows × cols` weights of `type`, `bytes` being the blocks as stored. */
  upload(type: QuantType, rows: number, cols: number, bytes: Uint8Array): GlMatrix {
    const rowBytes = (cols / 32) * BLOCK_BYTES[type];
    if (cols % 32 !== 0 || rows % 4 !== 0 || bytes.byteLength !== rows * rowBytes)
      throw new WebGlMatmulError(
        'BAD_INPUT',
        `${type} ${rows}×${cols}: need cols % 32 = 0, rows % 4 = 0 and ${rows * rowBytes} bytes, got ${bytes.byteLength}`,
      );
    const { gl } = this;
    const words = Math.ceil(bytes.byteLength / 4);
    const texWidth = Math.min(this.info.maxTextureSize, 4096);
    const texHeight = Math.ceil(words / texWidth);
    if (texHeight > this.info.maxTextureSize)
      throw new WebGlMatmulError(
        'BAD_INPUT',
        `${bytes.byteLength} bytes exceed one ${texWidth}×${this.info.maxTextureSize} texture`,
      );
    // Copy into a zero-padded word array: texture rows are whole, and the file offset
    // need not be 4-aligned in the caller's view.
    const padded = new Uint8Array(texWidth * texHeight * 4);
    padded.set(bytes);
    const texture = gl.createTexture();
    if (!texture) throw new WebGlMatmulError('WEBGL2_UNAVAILABLE', 'createTexture failed');
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.R32UI, texWidth, texHeight);
    gl.texSubImage2D(
      gl.TEXTURE_2D,
      0,
      0,
      0,
      texWidth,
      texHeight,
      gl.RED_INTEGER,
      gl.UNSIGNED_INT,
      new Uint32Array(padded.buffer),
    );
    nearest(gl);
    return { type, rows, cols, textureBytes: padded.byteLength, texture, texWidth };
  }

  /** Frees a matrix's texture. */
  release(m: GlMatrix): void {
    this.gl.deleteTexture(m.texture);
  }

  /**
   * `out` (`nTok × rows`, token-major) = `x` (`nTok × cols`) · Wᵀ: uploads `x`,
   * draws, and reads the result back (a full GPU→CPU synchronisation).
   */
  matmul(m: GlMatrix, x: Float32Array, nTok: number): Float32Array {
    this.dispatch(m, x, nTok);
    return this.read(m, nTok);
  }

  /** Uploads `x` and issues the draw without waiting for it (see `read`). */
  dispatch(m: GlMatrix, x: Float32Array, nTok: number): void {
    if (!Number.isInteger(nTok) || nTok < 1 || x.length !== nTok * m.cols)
      throw new WebGlMatmulError('BAD_INPUT', `x: ${x.length} values for ${nTok} × ${m.cols}`);
    const { gl } = this;
    const p = this.program(m.type);
    // Activations: one texel = 4 columns, one texture row = one token.
    const xw = m.cols / 4;
    gl.bindTexture(gl.TEXTURE_2D, this.xTex);
    if (this.xShape[0] !== xw || this.xShape[1] !== nTok) {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, xw, nTok, 0, gl.RGBA, gl.FLOAT, x);
      nearest(gl);
      this.xShape = [xw, nTok];
    } else gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, xw, nTok, gl.RGBA, gl.FLOAT, x);
    const [ow, oh] = this.target(m, nTok);
    gl.useProgram(p.program);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, m.texture);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.xTex);
    gl.activeTexture(gl.TEXTURE0);
    const groups = m.rows / 4;
    gl.uniform1i(p.loc.W ?? null, 0);
    gl.uniform1i(p.loc.X ?? null, 1);
    gl.uniform1i(p.loc.texWidth ?? null, m.texWidth);
    gl.uniform1i(p.loc.groups ?? null, groups);
    gl.uniform1i(p.loc.total ?? null, groups * nTok);
    gl.uniform1i(p.loc.outWidth ?? null, ow);
    gl.uniform1i(p.loc.rowBytes ?? null, (m.cols / 32) * BLOCK_BYTES[m.type]);
    gl.uniform1i(p.loc.nBlocks ?? null, m.cols / 32);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.viewport(0, 0, ow, oh);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  /** Reads the last dispatch's result: blocks until the GPU has finished it. */
  read(m: GlMatrix, nTok: number): Float32Array {
    const { gl } = this;
    const [ow, oh] = this.outShape as [number, number];
    const all = new Float32Array(ow * oh * 4);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.readPixels(0, 0, ow, oh, gl.RGBA, gl.FLOAT, all);
    // Fragment id = token · groups + group, 4 rows per texel: already token-major.
    return all.subarray(0, nTok * m.rows);
  }

  /** Sizes the render target for `rows/4 × nTok` texels, rows of at most 4096 texels. */
  private target(m: GlMatrix, nTok: number): [number, number] {
    const { gl } = this;
    const total = (m.rows / 4) * nTok;
    const ow = Math.min(total, 4096, this.info.maxViewportDims[0]);
    const oh = Math.ceil(total / ow);
    if (oh > this.info.maxViewportDims[1])
      throw new WebGlMatmulError('BAD_INPUT', `${total} output texels exceed the viewport`);
    if (this.outShape[0] !== ow || this.outShape[1] !== oh) {
      gl.bindTexture(gl.TEXTURE_2D, this.outTex);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, ow, oh, 0, gl.RGBA, gl.FLOAT, null);
      nearest(gl);
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, this.outTex, 0);
      const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
      if (status !== gl.FRAMEBUFFER_COMPLETE)
        throw new WebGlMatmulError('FLOAT_RENDER_UNAVAILABLE', `framebuffer status ${status}`);
      this.outShape = [ow, oh];
    }
    return [ow, oh];
  }

  private program(type: QuantType): Program {
    const cached = this.programs.get(type);
    if (cached) return cached;
    const { gl } = this;
    const program = gl.createProgram();
    if (!program) throw new WebGlMatmulError('SHADER', 'createProgram failed');
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
    const body = type === 'Q4_1' ? Q4_1_BODY : Q8_0_BODY;
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_HEAD + body));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS))
      throw new WebGlMatmulError('SHADER', `link: ${gl.getProgramInfoLog(program)}`);
    const loc: Program['loc'] = {};
    for (const n of ['W', 'X', 'texWidth', 'groups', 'total', 'outWidth', 'rowBytes', 'nBlocks'])
      loc[n] = gl.getUniformLocation(program, n);
    const p = { program, loc };
    this.programs.set(type, p);
    return p;
  }
}

/** Integer and float32 textures cannot be filtered: nearest, no mipmaps. */
function nearest(gl: WebGL2RenderingContext): void {
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
}
