package jpeg

import "fmt"

// decodeScan decodes the scan's blocks and writes each component's samples, inverse
// transformed at the given scale, to its plane.
func (d *decoder) decodeScan(scale int) error {
	bs := 8 / scale // samples per block side
	mcusX, mcusY := (d.width+8*d.hmax-1)/(8*d.hmax), (d.height+8*d.vmax-1)/(8*d.vmax)
	single := len(d.comps) == 1
	if single {
		// A one-component scan is not interleaved: its MCU is one block.
		d.comps[0].h, d.comps[0].v, d.hmax, d.vmax = 1, 1, 1, 1
		mcusX, mcusY = (d.width+7)/8, (d.height+7)/8
	}
	idcts := make([]idctFunc, len(d.comps))
	for i := range d.comps {
		c := &d.comps[i]
		// As libjpeg does when scaling down, subsampled components get a larger inverse DCT
		// (up to 8x8) instead of being upsampled later.
		c.bs = bs
		for c.bs < 8 && (d.hmax*bs)%(c.h*c.bs*2) == 0 && (d.vmax*bs)%(c.v*c.bs*2) == 0 {
			c.bs *= 2
		}
		idcts[i] = idctFor(8 / c.bs)
		c.stride = mcusX * c.h * c.bs
		c.plane = make([]uint8, c.stride*mcusY*c.v*c.bs)
	}
	var coef [64]int32
	mcus := 0
	for my := range mcusY {
		for mx := range mcusX {
			if d.restart > 0 && mcus > 0 && mcus%d.restart == 0 {
				if err := d.r.restart(); err != nil {
					return err
				}
				for i := range d.comps {
					d.comps[i].pred = 0
				}
			}
			mcus++
			for i := range d.comps {
				c := &d.comps[i]
				q, idct := &d.quant[c.tq], idcts[i]
				for by := range c.v {
					for bx := range c.h {
						n, err := d.r.decodeBlock(&coef, &d.dc[c.td], &d.ac[c.ta], &c.pred, c.bs == 1)
						if err != nil {
							return fmt.Errorf("block at MCU (%d, %d): %w", mx, my, err)
						}
						x, y := (mx*c.h+bx)*c.bs, (my*c.v+by)*c.bs
						dst := c.plane[y*c.stride+x:]
						if n == 1 {
							// DC only: every inverse DCT gives DC/8 everywhere.
							fillBlock(dst, c.stride, c.bs, clamp8(descale(coef[0]*q[0], 3)+128))
						} else {
							idct(&coef, q, dst, c.stride)
						}
						coef = [64]int32{}
					}
				}
			}
		}
	}
	if d.r.truncated() {
		return errTruncated
	}
	return nil
}

// output converts the planes to the image: luminance, gray as RGB, or YCbCr with the chroma
// upsampled to the luma's resolution (supported() leaves Y at the largest sampling factors)
// and converted to RGB.
func (d *decoder) output(scale, channels int) *Image {
	w, h := (d.width+scale-1)/scale, (d.height+scale-1)/scale
	m := &Image{Width: w, Height: h, Channels: channels, Pix: make([]uint8, w*h*channels)}
	y := &d.comps[0]
	if channels == 1 || len(d.comps) == 1 {
		for row := range h {
			src := y.plane[row*y.stride : row*y.stride+w]
			if channels == 1 {
				copy(m.Pix[row*w:], src)
				continue
			}
			dst := m.Pix[row*w*3 : (row+1)*w*3]
			for x, v := range src {
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
		return m
	}
	up := &upsampler{d: d, width: w, lumaBS: y.bs, colsum: make([]int32, w+2)}
	cb, cr := make([]uint8, w+1), make([]uint8, w+1) // see upsampler.row
	for row := range h {
		up.row(&d.comps[1], row, cb)
		up.row(&d.comps[2], row, cr)
		yccToRGB(y.plane[row*y.stride:row*y.stride+w], cb[:w], cr[:w], m.Pix[row*w*3:(row+1)*w*3])
	}
	return m
}

func fillBlock(dst []uint8, stride, n int, v uint8) {
	for y := range n {
		row := dst[y*stride : y*stride+n]
		for x := range row {
			row[x] = v
		}
	}
}
