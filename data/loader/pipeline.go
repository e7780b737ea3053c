package loader

import (
	"math/rand/v2"

	"github.com/bonsai-ml/bonsai/internal/splitmix"
)

// pipeline is the per-image work, from a decoded image to normalized float32 pixels.
type pipeline struct {
	height, width, channels int
	interp                  string
	randomCrop, centerCrop  bool
	colorAug, flip          bool
	norm                    normalizer
}

// stable applies the deterministic part of the pipeline, the part a cache may store: for random
// crop, a downscale of large images to the largest size any crop fraction asks for (the cover
// of (W, H)/0.45; smaller images stay as decoded); otherwise the whole resize and center crop,
// giving the final W x H image before flip. It runs with and without the cache, so that caching
// cannot change results. For random crop, images larger than the cover resample twice where TAO
// resamples once; at 224x224 that means a short side above 498 pixels (not VOC's 500x375).
func (p *pipeline) stable(m *Image) *Image {
	if p.randomCrop {
		rw, rh := coverSize(m.Width, m.Height,
			float64(p.width)/minCropFraction, float64(p.height)/minCropFraction)
		if rw >= m.Width || rh >= m.Height {
			return m
		}
		return resizeRegion(m, region{rw, rh, 0, 0, rw, rh}, p.interp)
	}
	r := plainRegion(p.width, p.height)
	if p.centerCrop && (m.Width != p.width || m.Height != p.height) {
		// TAO (load_and_crop_img) crops only an image whose size differs from the target.
		r = centerCropRegion(m.Width, m.Height, p.width, p.height)
	}
	if r.ResizedW == m.Width && r.ResizedH == m.Height && r.W == m.Width && r.H == m.Height {
		return m
	}
	return resizeRegion(m, r, p.interp)
}

// finish turns the output of stable into normalized pixels in dst (H*W*C values), drawing the
// random crop, the flip and the color parameters, in that order, from rng. scratch must hold
// H*W*C values.
func (p *pipeline) finish(m *Image, rng *rand.Rand, dst, scratch []float32) {
	if p.randomCrop {
		r := randomCropRegion(m.Width, m.Height, p.width, p.height, rng)
		m = resizeRegion(m, r, p.interp)
	}
	flip := p.flip && rng.Float64() < 0.5
	if !p.randomCrop || !p.colorAug || p.channels != 3 {
		p.norm.applyRows(m.Pix, dst, p.width, p.channels, flip)
		return
	}
	for i, v := range m.Pix {
		scratch[i] = float32(v)
	}
	if flip {
		flipHorizontal(scratch, p.width, p.height, p.channels)
	}
	augmentColors(scratch, drawColorParams(rng))
	p.norm.apply(scratch, dst, p.channels)
}

// augmentColors applies TAO's color augmentation to RGB pixels in [0,255].
func augmentColors(px []float32, cp colorParams) {
	for i := 0; i+2 < len(px); i += 3 {
		r, g, b := colorAugment(float64(px[i])/255, float64(px[i+1])/255, float64(px[i+2])/255, cp)
		px[i], px[i+1], px[i+2] = float32(r*255), float32(g*255), float32(b*255)
	}
}

// Streams keep the generators of different purposes apart.
const (
	streamSample  = 1
	streamShuffle = 2
	streamMixup   = 3
)

// derivedRNG is the generator for (seed, epoch, stream, index): the same four numbers always give
// the same draws, whatever goroutine uses it.
func derivedRNG(seed int64, epoch, stream, index int) *rand.Rand {
	a := splitmix.Mix(uint64(seed) ^ splitmix.Mix(uint64(epoch)<<8|uint64(stream)))
	b := splitmix.Mix(a ^ splitmix.Mix(uint64(index)))
	return rand.New(rand.NewPCG(a, b))
}
