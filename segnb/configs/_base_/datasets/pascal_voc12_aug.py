# Pascal VOC 2012 plus the SBD "aug" annotations (10,582 training images instead of 1,464).
# Only the training set changes: two annotation folders and two split files, read as one concatenated dataset.
_base_ = './pascal_voc12.py'

data = dict(
    train=dict(ann_dir=['SegmentationClass', 'SegmentationClassAug'],
               split=['ImageSets/Segmentation/train.txt', 'ImageSets/Segmentation/aug.txt']))
