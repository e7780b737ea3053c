package loader

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bonsai-ml/bonsai/model"
)

// Item is one labelled image file.
type Item struct {
	Path  string
	Label int
}

// What to do with an image that cannot be read or decoded.
const (
	BadImageSkip = "skip" // leave it out of the batches and list it in BadImages (the default)
	BadImageFail = "fail" // end the epoch with an error naming the file
)

// Options configures a Loader. The field names follow TAO's spec where TAO has one.
type Options struct {
	Height, Width, Channels int                // output size; Channels 3 (RGB) or 1 (luminance)
	Interpolation           string             // bilinear (default), bicubic, nearest, lanczos; case-insensitive
	PreprocessMode          string             // caffe, torch or tf (required)
	ImageMean               map[string]float32 // caffe mode's mean (keys b, g, r or l); nil: TAO's
	ImageStd                map[string]float32 // torch mode's std (keys r, g, b or l); nil: 0.224 each

	RandomCrop        bool    // TAO's train crop; excludes CenterCrop
	CenterCrop        bool    // TAO's eval crop; with neither crop, a plain resize to W x H
	ColorAugmentation bool    // applies only together with RandomCrop and 3 channels, as in TAO
	HorizontalFlip    bool    // random flip, p = 0.5; TAO trains with it on (!disable_horizontal_flip)
	MixupAlpha        float64 // λ ~ Beta(α, α) per sample, mixed with the reversed batch; 0 = off

	Seed      int64
	Workers   int // parallel decoders; 0 means GOMAXPROCS
	BatchSize int
	Shuffle   bool
	DropLast  bool
	// Cache keeps each image in memory, as uint8, after the deterministic part of the pipeline,
	// so that later epochs skip reading and decoding. With CenterCrop or no crop that is the final
	// W x H image (before flip). With RandomCrop it is the decoded image, downscaled (never
	// upscaled) to the size the smallest crop fraction (0.45) needs, the cover of
	// (W/0.45, H/0.45). The uncached path applies the same step, so the cache (and its cap) never
	// changes the batches. Stats().CacheBytes reports the memory held.
	Cache bool
	// CacheMaxBytes caps the cache (0: no cap); images beyond it are decoded every epoch.
	CacheMaxBytes int64
	OnBadImage    string // skip (default) or fail
}

// Batch is one batch of samples in NHWC layout.
type Batch struct {
	Index   int           // position of the batch in its epoch
	Images  *model.Tensor // [N, H, W, C] float32
	Labels  *model.Tensor // [N, numClasses], one-hot, or soft with mixup
	Targets []int         // the hard label of each sample (before mixup)
	Paths   []string
}

// BadImage is a file that could not be used.
type BadImage struct {
	Path  string
	Label int
	Err   error
}

// Loader produces epochs of batches from a list of items.
type Loader struct {
	items      []Item
	numClasses int
	opts       Options
	pipe       pipeline

	cache      []atomic.Pointer[Image]
	cacheBytes atomic.Int64
	decoded    atomic.Int64
	cacheHits  atomic.Int64
	bufPool    sync.Pool

	badMu sync.Mutex
	bad   map[int]error // item index -> error
}

// New checks the options and returns a loader over items with labels in [0, numClasses).
func New(items []Item, numClasses int, opts Options) (*Loader, error) {
	if err := checkOptions(items, numClasses, &opts); err != nil {
		return nil, err
	}
	interp, err := normalizeInterpolation(opts.Interpolation)
	if err != nil {
		return nil, err
	}
	norm, err := newNormalizer(opts.PreprocessMode, opts.Channels, opts.ImageMean, opts.ImageStd)
	if err != nil {
		return nil, err
	}
	l := &Loader{
		items: items, numClasses: numClasses, opts: opts,
		pipe: pipeline{height: opts.Height, width: opts.Width, channels: opts.Channels,
			interp: interp, randomCrop: opts.RandomCrop, centerCrop: opts.CenterCrop,
			colorAug: opts.ColorAugmentation, flip: opts.HorizontalFlip, norm: norm},
		bad: map[int]error{},
	}
	if opts.Cache {
		l.cache = make([]atomic.Pointer[Image], len(items))
	}
	size := opts.Height * opts.Width * opts.Channels
	l.bufPool.New = func() any { b := make([]float32, size); return &b }
	return l, nil
}

func checkOptions(items []Item, numClasses int, o *Options) error {
	switch {
	case len(items) == 0:
		return errors.New("loader: no images to load")
	case numClasses < 1:
		return fmt.Errorf("loader: numClasses must be at least 1, got %d", numClasses)
	case o.Height < 1 || o.Width < 1:
		return fmt.Errorf("loader: output size %dx%d must be positive", o.Width, o.Height)
	case o.Channels != 1 && o.Channels != 3:
		return fmt.Errorf("loader: channels must be 1 or 3, got %d", o.Channels)
	case o.BatchSize < 1:
		return fmt.Errorf("loader: batch size must be at least 1, got %d", o.BatchSize)
	case o.MixupAlpha < 0:
		return fmt.Errorf("loader: mixup alpha must be >= 0, got %g", o.MixupAlpha)
	case o.RandomCrop && o.CenterCrop:
		return errors.New("loader: random crop (training) and center crop (evaluation) " +
			"are exclusive; build one loader per split")
	case o.CacheMaxBytes < 0:
		return fmt.Errorf("loader: CacheMaxBytes must be >= 0, got %d", o.CacheMaxBytes)
	case o.Workers < 0:
		return fmt.Errorf("loader: workers must be >= 0, got %d", o.Workers)
	}
	o.OnBadImage = strings.ToLower(o.OnBadImage)
	if o.OnBadImage == "" {
		o.OnBadImage = BadImageSkip
	}
	if o.OnBadImage != BadImageSkip && o.OnBadImage != BadImageFail {
		return fmt.Errorf("loader: OnBadImage %q: want skip or fail", o.OnBadImage)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if !o.DropLast && o.BatchSize > len(items) {
		o.BatchSize = len(items) // buffers sized by what is used: one batch of every item
	}
	for _, it := range items {
		if it.Label < 0 || it.Label >= numClasses {
			return fmt.Errorf("loader: %s has label %d outside [0, %d)", it.Path, it.Label, numClasses)
		}
	}
	return nil
}

// Len is the number of items.
func (l *Loader) Len() int { return len(l.items) }

// BatchesPerEpoch is the number of batches of an epoch in which no image is bad.
func (l *Loader) BatchesPerEpoch() int {
	n := len(l.items) / l.opts.BatchSize
	if !l.opts.DropLast && len(l.items)%l.opts.BatchSize != 0 {
		n++
	}
	return n
}

// Stats are the loader's counters since it was made.
type Stats struct {
	Decoded    int64 // files read and decoded
	CacheHits  int64 // samples served from the cache
	CacheBytes int64 // memory held by the cache
	Cached     int   // images in the cache
	Bad        int   // distinct unusable files
}

// Stats returns the current counters; safe to call while an epoch runs.
func (l *Loader) Stats() Stats {
	s := Stats{Decoded: l.decoded.Load(), CacheHits: l.cacheHits.Load(),
		CacheBytes: l.cacheBytes.Load()}
	for i := range l.cache {
		if l.cache[i].Load() != nil {
			s.Cached++
		}
	}
	l.badMu.Lock()
	s.Bad = len(l.bad)
	l.badMu.Unlock()
	return s
}

// BadImages lists the files that could not be used so far, sorted by path.
func (l *Loader) BadImages() []BadImage {
	l.badMu.Lock()
	defer l.badMu.Unlock()
	out := make([]BadImage, 0, len(l.bad))
	for i, err := range l.bad {
		out = append(out, BadImage{Path: l.items[i].Path, Label: l.items[i].Label, Err: err})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out
}

// BadImageSummary is a human-readable summary of BadImages ("" when there are none).
func (l *Loader) BadImageSummary() string {
	bad := l.BadImages()
	if len(bad) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d unusable image(s) skipped:\n", len(bad))
	for _, x := range bad {
		fmt.Fprintf(&b, "  %v\n", x.Err)
	}
	return b.String()
}

func (l *Loader) knownBad(i int) error {
	l.badMu.Lock()
	defer l.badMu.Unlock()
	return l.bad[i]
}

func (l *Loader) recordBad(i int, err error) {
	l.badMu.Lock()
	l.bad[i] = err
	l.badMu.Unlock()
}

// source returns the stable form of item i, from the cache when it is there.
func (l *Loader) source(i int) (*Image, error) {
	if l.cache != nil {
		if m := l.cache[i].Load(); m != nil {
			l.cacheHits.Add(1)
			return m, nil
		}
		if err := l.knownBad(i); err != nil {
			return nil, err
		}
	}
	m, err := decodeFileFor(l.items[i].Path, l.opts.Channels, l.pipe.decodeNeed())
	if err != nil {
		return nil, err
	}
	l.decoded.Add(1)
	m = l.pipe.stable(m)
	if l.cache != nil && l.reserveCache(int64(m.Bytes())) {
		if l.cache[i].CompareAndSwap(nil, m) {
			return m, nil
		}
		l.cacheBytes.Add(-int64(m.Bytes())) // another epoch cached it first
	}
	return m, nil
}

// reserveCache accounts n more bytes in the cache unless that would pass CacheMaxBytes.
func (l *Loader) reserveCache(n int64) bool {
	for {
		used := l.cacheBytes.Load()
		if limit := l.opts.CacheMaxBytes; limit > 0 && used+n > limit {
			return false
		}
		if l.cacheBytes.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// sample computes the normalized pixels of item i for an epoch.
func (l *Loader) sample(epoch, i int) (*[]float32, error) {
	m, err := l.source(i)
	if err != nil {
		return nil, err
	}
	dst := l.bufPool.Get().(*[]float32)
	scratch := l.bufPool.Get().(*[]float32)
	defer l.bufPool.Put(scratch)
	l.pipe.finish(m, derivedRNG(l.opts.Seed, epoch, streamSample, i), *dst, *scratch)
	return dst, nil
}

// epochOrder is the item order of an epoch: shuffled by (Seed, epoch) or as given.
func (l *Loader) epochOrder(epoch int) []int {
	order := make([]int, len(l.items))
	for i := range order {
		order[i] = i
	}
	if l.opts.Shuffle {
		rng := derivedRNG(l.opts.Seed, epoch, streamShuffle, 0)
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	}
	return order
}

// PreprocessFile runs the evaluation pipeline (center crop or plain resize by opts, no random
// augmentation) on one file and returns its H*W*C normalized pixels, for inference.
func PreprocessFile(path string, opts Options) ([]float32, error) {
	opts.RandomCrop, opts.HorizontalFlip, opts.ColorAugmentation, opts.MixupAlpha = false, false, false, 0
	opts.BatchSize, opts.Cache = 1, false
	l, err := New([]Item{{Path: path}}, 1, opts)
	if err != nil {
		return nil, err
	}
	pix, err := l.sample(0, 0)
	if err != nil {
		return nil, err
	}
	return *pix, nil
}

// Duration helpers for progress output.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
