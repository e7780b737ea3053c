// Package loader turns lists of labelled image files into batches of float32 NHWC tensors for
// training and evaluation, the way TAO's classification data pipeline does.
//
// It owns decoding (JPEG and PNG; grayscale, CMYK, paletted, 16-bit and alpha images become RGB or
// one-channel luminance; the EXIF orientation of JPEGs is applied), resizing with TAO's
// interpolation options, TAO's train-time random crop and eval-time center crop, horizontal flip,
// color augmentation, mixup, the caffe / torch / tf preprocess modes, parallel workers, an
// optional cache of decoded images, and the handling of corrupt images.
//
// Everything random is drawn from generators derived from (Seed, epoch, item index) or
// (Seed, epoch, batch index), so an epoch's batches are identical for any number of workers.
//
// Baseline JPEGs (nearly all photos) decode with package data/jpeg, which computes what PIL 9.4
// (libjpeg-turbo) computes: the same pixels on the hymenoptera, VOC and sample photos. With
// random crop, a JPEG at least twice the size the crop pipeline keeps decodes at 1/2, 1/4 or
// 1/8 scale (DCT scaling, as PIL's draft mode), still at least that size. Progressive and other
// JPEGs, and PNGs, decode with the standard library (Go's image/jpeg differs from PIL by 0.13 to
// 0.31 levels on average, at most 4). Resizing and TAO's crops reproduce PIL's arithmetic and
// equal its output.
//
// torch mode divides every channel by 0.224, as TAO's numpy path (the one its Keras generators
// and tao_deploy use) does; Options.ImageStd (spec: train_config.image_std) gives per-channel
// values, e.g. torchvision's 0.229, 0.224, 0.225 (TAO's symbolic path).
//
// Where Bonsai differs from TAO (TF1 makenet), on purpose:
//   - The EXIF orientation of JPEGs is applied; Keras' load_img ignores it.
//   - Alpha is composited onto black (premultiplied color); PIL's convert("RGB") drops alpha and
//     keeps the stored color, which is the same for the common fully transparent (0,0,0,0) pixel.
//   - Color augmentation works on the true RGB order (TAO passes RGB arrays to OpenCV's BGR2HSV,
//     which mirrors the hue rotation; the rotation is symmetric, so the distribution is the same),
//     and its result stays in float instead of being truncated to uint8.
//   - One-channel output of a color JPEG is its decoded luma plane; PIL converts to RGB first and
//     back to luminance, which can differ by one level.
//   - For random crop, an image larger than target/0.45 on both sides is first downscaled to
//     that cover (the step the cache stores, done with or without it), then cropped: two
//     resamplings where TAO does one.
//   - An image already at the target size still gets the random crop and color augmentation
//     (TAO returns it untouched). The center crop, as TAO's, leaves such an image untouched.
package loader
