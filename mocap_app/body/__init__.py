"""Body models: SMPL-X from user files, the free default avatar, rest skeletons, retargeting."""
