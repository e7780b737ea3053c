// Package data owns datasets on disk: folder-per-class datasets and their classmap.json, checks
// that train, val and test hold the same classes, PASCAL VOC conversion, seeded train/val/test
// splitting, and IDX (MNIST-format) import. Image decoding and batching live in data/loader.
//
// # Folder-per-class datasets
//
// A dataset is a folder with one sub-folder per class holding .jpg, .jpeg or .png files (any
// case). Classes are ordered alphabetically unless a classmap ({"class": index}, as TAO writes)
// forces the order; folders that the classmap does not name are ignored (as Keras'
// flow_from_directory does) and listed in Dataset.Ignored.
//
// # Splitting
//
// Items are sorted by name, shuffled with a seeded generator that is part of this package (so a
// seed gives the same split on every platform and Go version), and cut into train, val and test.
// Each class (or stratum) is shuffled with its own stream derived from the seed and the class
// name, so adding a class does not change how the others are split. Counts per split follow the
// largest-remainder rule: each split first gets floor(n*ratio), and the images left over go to
// the splits with the largest fractional parts (ties: train, val, test). Then every split with a
// non-zero ratio that got no image takes one from the largest split, provided that split keeps
// at least one; splits are served in order of decreasing ratio (test before val at 70/10/20).
// So at 70/10/20 a class with 1 image goes to train, 2 images to train+test, 3 or more images
// fill all three splits. A split whose ratio is 0 is not created.
//
// # VOC conversion
//
// Two modes. "split-first" (the default) assigns each unique image to exactly one split first,
// stratified by its rarest class, and then copies it into the folder of every class it shows,
// inside that split: a photo never appears in two splits. A stratum with fewer images than there
// are splits with a non-zero ratio is pooled with the other small ones before splitting, so that
// rare classes are not all sent to train. Class folders of a split follow from the images it got;
// a rare class may miss a split (the command says so). "tao" reproduces TAO's prepare_voc.py:
// copy each image into every class folder it shows (DIR/formatted/<class>), then split each class
// folder independently; a photo with a dog and a person can land in train/dog and test/person,
// so the test set leaks training images. It exists for comparison with TAO results only (TAO's
// shuffle is unseeded; here it is seeded like every other split).
//
// Labels come from ImageSets/Main/<class>_trainval.txt (flag 1; flag 0 "difficult" too with
// IncludeDifficult) when such files exist, otherwise from the <object> names of the annotations
// listed in ImageSets/Main/trainval.txt (or of all Annotations/*.xml), skipping difficult
// objects unless asked. Images with no usable label, or whose JPEG is missing, are skipped and
// counted by reason in the manifest.
//
// # IDX import
//
// MNIST-format files (gzip or not) become Out/<class>/<index>.png, where index is the image's
// 1-based position in the file, zero-padded to 5 digits, so an image can be traced back.
//
// # Outputs
//
// Every command builds its output in DIR.tmp-<pid> next to DIR and renames it into place at the
// end, so DIR is either absent or complete. A complete DIR holds .bonsai-dataset.json (the
// command, its inputs, a fingerprint of the source, and counts). Running the same command again
// with the same inputs reports "already done"; with different inputs it refuses unless Force is
// set, which rebuilds and then swaps the new folder in (atomically on Linux). Force never replaces a non-empty folder that has no
// manifest. Leftover temporary folders of interrupted runs (whose process is gone) are removed.
package data
