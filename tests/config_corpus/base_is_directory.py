_base_ = './bases'          # a folder, not a file
model = dict(decode_head=dict(num_classes=4))
