// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {UncToken} from "./UncToken.sol";

/// @title POCI: device registry, verified heartbeats and rewards in one contract.
/// @notice The spec is docs/protocol.md. Registry, heartbeat and rewards share one address on purpose:
/// a heartbeat then touches three storage slots and no other contract (cross-contract calls would
/// cost 2,600+ gas per heartbeat). The UNC token is a separate ERC-20 this contract mints.
contract Poci {
    // ---------------------------------------------------------------- constants
    bytes32 public constant HEARTBEAT_DOMAIN = keccak256("UNET-POCI-HEARTBEAT-v1");
    bytes32 public constant REGISTER_DOMAIN = keccak256("UNET-POCI-REGISTER-v1");

    uint8 public constant KIND_HOST_TPM = 1; // host TPM AK, ECDSA P-256 quotes
    uint8 public constant KIND_HOST_EMULATOR = 2; // software host key, same quote format (devnet only)
    uint8 public constant KIND_P256 = 3; // device key ECDSA P-256 / SHA-256
    uint8 public constant KIND_SECP256K1 = 4; // device key ECDSA secp256k1 / SHA-256 (ecrecover)
    uint8 public constant KIND_RSA2048 = 5; // device key RSA-2048 PKCS#1 v1.5 / SHA-256 (Sophgo)
    uint8 public constant KIND_P384 = 6; // NVIDIA device identity key: committed by digest, checked off chain
    uint8 public constant KIND_EMULATOR = 7; // emulated accelerator, P-256 key (devnet only)

    uint8 public constant STATUS_NONE = 0;
    uint8 public constant STATUS_PENDING = 1;
    uint8 public constant STATUS_APPROVED = 2;

    uint256 public constant MAX_DEVICES_PER_HOST = 64;

    uint32 private constant TPM_GENERATED_VALUE = 0xff544347;
    uint16 private constant TPM_ST_ATTEST_QUOTE = 0x8018;
    address private constant P256_VERIFY = address(0x100);
    address private constant MODEXP = address(0x05);

    // ---------------------------------------------------------------- immutables
    UncToken public immutable token;
    uint64 public immutable genesisTime;
    uint64 public immutable epochSeconds;
    uint64 public immutable maxBlockAge;
    uint96 public immutable rewardPerPowerEpoch;
    bool public immutable allowEmulator;
    address public immutable admin;

    // ---------------------------------------------------------------- storage
    address public verifier;

    /// One slot: operator | kind | status | power | index in the host's device list.
    struct Device {
        address operator;
        uint8 kind;
        uint8 status;
        uint64 power;
        uint16 index;
        bytes32 host;
        address payout;
    }

    /// One slot, keyed by keccak256(abi.encode(operator, hostId)): a heartbeat reads and writes only this
    /// slot (plus setHash when the host has devices), and finding it under the sender's key is the operator check.
    struct Host {
        uint32 lastEpoch;
        uint48 lastBlock;
        uint64 power; // aggregate approved power: host + attached approved devices
        uint8 count; // attached approved devices
        bool active; // the host itself is approved
        uint96 accrued; // UNC (wei) not yet claimed
    }

    mapping(bytes32 => Device) internal devices;
    mapping(bytes32 => Host) internal hosts;
    /// keccak256(concat(deviceId ‖ uint8 kind)) over the host's attached approved devices, in list order.
    mapping(bytes32 => bytes32) internal setHashOf;
    mapping(bytes32 => bytes32[]) internal hostDeviceList;
    mapping(bytes32 => uint256) public claimed;

    // ---------------------------------------------------------------- events
    event Registered(
        bytes32 indexed deviceId,
        address indexed operator,
        bytes32 indexed hostId,
        uint8 kind,
        address payout,
        bytes publicKey,
        bytes proof,
        bytes evidence
    );
    event Approved(bytes32 indexed deviceId, bytes32 indexed hostId, uint64 power, address verifier);
    event Rejected(bytes32 indexed deviceId, bytes32 indexed hostId, string reason, address verifier);
    event Released(bytes32 indexed deviceId, bytes32 indexed hostId, address operator);
    event Heartbeat(bytes32 indexed hostId, uint64 epoch, bytes32 devicesDigest);
    event Claimed(bytes32 indexed hostId, address indexed payout, uint256 amount);
    event VerifierChanged(address verifier);

    // ---------------------------------------------------------------- errors
    error AlreadyCredited(bytes32 hostId, uint64 epoch);
    error WrongEpoch(uint64 given, uint64 current);
    error StaleBlock(uint64 blockNumber, uint64 minBlock);
    error FutureBlock(uint64 blockNumber, uint64 currentBlock);
    error WrongBlockhash(uint64 blockNumber, bytes32 expected, bytes32 given);
    error WrongExtraData(bytes32 expected, bytes32 given);
    error MalformedAttest(uint256 offset);
    error BadSignature();
    error BadDeviceSignature(bytes32 deviceId);
    error MalformedProof(bytes32 deviceId);
    error DeviceSetMismatch(bytes32 hostId);
    error NotOperator(address operator, address sender);
    error Unregistered(bytes32 deviceId);
    error NotApproved(bytes32 deviceId);
    error NotPending(bytes32 deviceId);
    error AlreadyBound(bytes32 deviceId, address operator);
    error NotVerifier(address sender);
    error NotAdmin(address sender);
    error EmulatorNotAllowed();
    error UnsupportedKind(uint8 kind);
    error BadPublicKey();
    error ZeroPayout();
    error PayoutMismatch(address hostPayout, address payout);
    error NotAHost(bytes32 hostId);
    error HostHasDevices(bytes32 hostId, uint8 count);
    error TooManyDevices(bytes32 hostId);
    error NothingToClaim(bytes32 hostId);
    error ClaimFirst(bytes32 hostId);

    constructor(
        address verifier_,
        uint64 epochSeconds_,
        uint64 maxBlockAge_,
        uint96 rewardPerPowerEpoch_,
        bool allowEmulator_
    ) {
        require(epochSeconds_ > 0 && maxBlockAge_ > 0 && maxBlockAge_ <= 256, "bad parameters");
        token = new UncToken(address(this));
        admin = msg.sender;
        verifier = verifier_;
        genesisTime = uint64(block.timestamp);
        epochSeconds = epochSeconds_;
        maxBlockAge = maxBlockAge_;
        rewardPerPowerEpoch = rewardPerPowerEpoch_;
        allowEmulator = allowEmulator_;
        emit VerifierChanged(verifier_);
    }

    // ================================================================= views

    /// Epochs are numbered from 1; epoch e covers [genesis + (e-1)·len, genesis + e·len).
    function currentEpoch() public view returns (uint64) {
        return uint64((block.timestamp - genesisTime) / epochSeconds) + 1;
    }

    function epochStart(uint64 epoch) external view returns (uint64) {
        return genesisTime + (epoch - 1) * epochSeconds;
    }

    function heartbeatChallenge(address operator, bytes32 hostId, uint64 epoch, uint64 blockNumber, bytes32 blockHash)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(HEARTBEAT_DOMAIN, block.chainid, address(this), operator, hostId, epoch, blockNumber, blockHash)
        );
    }

    function registerChallenge(address operator, address payout, bytes32 deviceId) public view returns (bytes32) {
        return keccak256(abi.encodePacked(REGISTER_DOMAIN, block.chainid, address(this), operator, payout, deviceId));
    }

    /// devicesDigest over interleaved (deviceId, evidenceDigest) words.
    function devicesDigest(bytes32[] calldata commits) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(commits));
    }

    function quoteQualifyingData(bytes32 challenge, bytes32[] calldata commits) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(challenge, keccak256(abi.encodePacked(commits))));
    }

    function deviceIdOf(bytes calldata publicKey) external pure returns (bytes32) {
        return keccak256(publicKey);
    }

    function deviceInfo(bytes32 deviceId)
        external
        view
        returns (address operator, uint8 kind, uint8 status, uint64 power, bytes32 hostId, address payout)
    {
        Device storage d = devices[deviceId];
        return (d.operator, d.kind, d.status, d.power, d.host, d.payout);
    }

    function hostInfo(bytes32 hostId)
        external
        view
        returns (
            address operator,
            bool active,
            uint64 power,
            uint8 count,
            bytes32 setHash,
            uint64 lastEpoch,
            uint64 lastBlock,
            uint256 accrued,
            uint256 claimedTotal
        )
    {
        operator = devices[hostId].operator;
        Host storage h = hosts[_hostKey(operator, hostId)];
        return (operator, h.active, h.power, h.count, setHashOf[hostId], h.lastEpoch, h.lastBlock, h.accrued, claimed[hostId]);
    }

    /// Where a host's state lives: keccak256(operator ‖ hostId ‖ setHash). A heartbeat recomputes the key
    /// from the sender and the device list it sends, so finding an active host there proves the operator
    /// and the device set without reading them.
    function _hostKey(address operator, bytes32 hostId) private view returns (bytes32) {
        return _key(operator, hostId, setHashOf[hostId]);
    }

    function _key(address operator, bytes32 hostId, bytes32 setHash) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, operator)
            mstore(add(m, 32), hostId)
            mstore(add(m, 64), setHash)
            key := keccak256(m, 96)
        }
    }

    /// Moves a host's state to the key of its new device set.
    function _setDevices(address operator, bytes32 hostId, bytes32[] storage list) private returns (Host storage) {
        bytes32 oldKey = _hostKey(operator, hostId);
        Host memory h = hosts[oldKey];
        delete hosts[oldKey];
        setHashOf[hostId] = _setHash(list);
        Host storage moved = hosts[_hostKey(operator, hostId)];
        moved.lastEpoch = h.lastEpoch;
        moved.lastBlock = h.lastBlock;
        moved.power = h.power;
        moved.count = h.count;
        moved.active = h.active;
        moved.accrued = h.accrued;
        return moved;
    }

    /// The attached approved devices in the order a heartbeat must list them.
    function hostDevices(bytes32 hostId) external view returns (bytes32[] memory ids, uint8[] memory kinds) {
        ids = hostDeviceList[hostId];
        kinds = new uint8[](ids.length);
        for (uint256 i; i < ids.length; ++i) kinds[i] = devices[ids[i]].kind;
    }

    // ================================================================= admin

    function setVerifier(address verifier_) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        verifier = verifier_;
        emit VerifierChanged(verifier_);
    }

    // ================================================================= registry

    /// Registers a device with proof of possession of its key over registerChallenge(sender, payout, deviceId).
    /// Hosts (TPM / emulator) prove it with a quote (attest ‖ r ‖ s) whose extraData is the challenge;
    /// devices with their own key sign SHA-256(challenge); P-384 proofs are recorded for the verifier.
    /// `evidence` (canonical evidence v1, docs/evidence.md) is opaque here: it is emitted so the verifier,
    /// and anyone re-checking its decision, can read it from chain data.
    function register(
        uint8 kind,
        bytes calldata publicKey,
        address payout,
        bytes32 hostId,
        bytes calldata proof,
        bytes calldata evidence
    ) external returns (bytes32 deviceId) {
        if (payout == address(0)) revert ZeroPayout();
        deviceId = keccak256(publicKey);
        Device storage d = devices[deviceId];
        if (d.status != STATUS_NONE) revert AlreadyBound(deviceId, d.operator);
        bool isHost = kind == KIND_HOST_TPM || kind == KIND_HOST_EMULATOR;
        if ((kind == KIND_HOST_EMULATOR || kind == KIND_EMULATOR) && !allowEmulator) revert EmulatorNotAllowed();
        if (isHost) {
            hostId = deviceId;
        } else {
            Device storage h = devices[hostId];
            if (h.status == STATUS_NONE) revert Unregistered(hostId);
            if (h.kind != KIND_HOST_TPM && h.kind != KIND_HOST_EMULATOR) revert NotAHost(hostId);
            if (h.operator != msg.sender) revert NotOperator(h.operator, msg.sender);
            if (h.payout != payout) revert PayoutMismatch(h.payout, payout);
        }
        bytes32 challenge = registerChallenge(msg.sender, payout, deviceId);
        if (isHost) {
            if (publicKey.length != 64 || proof.length < 64) revert BadPublicKey();
            uint256 n = proof.length - 64;
            _checkQuote(proof[:n], challenge);
            if (!_p256(sha256(proof[:n]), bytes32(proof[n:n + 32]), bytes32(proof[n + 32:]), bytes32(publicKey[:32]), bytes32(publicKey[32:])))
                revert BadSignature();
        } else if (kind == KIND_P256 || kind == KIND_EMULATOR) {
            if (publicKey.length != 64) revert BadPublicKey();
            if (proof.length != 64) revert MalformedProof(deviceId);
            if (!_p256(sha256(abi.encodePacked(challenge)), bytes32(proof[:32]), bytes32(proof[32:]), bytes32(publicKey[:32]), bytes32(publicKey[32:])))
                revert BadDeviceSignature(deviceId);
        } else if (kind == KIND_SECP256K1) {
            if (publicKey.length != 64) revert BadPublicKey();
            if (proof.length != 65) revert MalformedProof(deviceId);
            if (!_k1(sha256(abi.encodePacked(challenge)), proof, deviceId)) revert BadDeviceSignature(deviceId);
        } else if (kind == KIND_RSA2048) {
            if (publicKey.length != 256 || uint8(publicKey[0]) < 0x80 || uint8(publicKey[255]) & 1 == 0) revert BadPublicKey();
            if (proof.length != 256) revert MalformedProof(deviceId);
            (bool ok,) = _rsa(sha256(abi.encodePacked(challenge)), proof, publicKey);
            if (!ok) revert BadDeviceSignature(deviceId);
        } else if (kind == KIND_P384) {
            if (publicKey.length != 96) revert BadPublicKey();
            // Recorded in the Registered event; the verifier checks the proof and the certificate chain off chain.
        } else {
            revert UnsupportedKind(kind);
        }
        d.operator = msg.sender;
        d.kind = kind;
        d.status = STATUS_PENDING;
        d.host = hostId;
        d.payout = payout;
        emit Registered(deviceId, msg.sender, hostId, kind, payout, publicKey, proof, evidence);
    }

    /// The verifier approves a pending device with its power (after checking genuineness off chain).
    function approve(bytes32 deviceId, uint64 power) external {
        if (msg.sender != verifier) revert NotVerifier(msg.sender);
        Device storage d = devices[deviceId];
        if (d.status == STATUS_NONE) revert Unregistered(deviceId);
        if (d.status != STATUS_PENDING) revert NotPending(deviceId);
        d.status = STATUS_APPROVED;
        d.power = power;
        bytes32 hostId = d.host;
        Host storage h;
        if (hostId == deviceId) {
            h = hosts[_hostKey(d.operator, hostId)];
            h.active = true;
        } else {
            if (devices[hostId].status == STATUS_NONE) revert Unregistered(hostId); // its host was released meanwhile
            bytes32[] storage list = hostDeviceList[hostId];
            if (list.length >= MAX_DEVICES_PER_HOST) revert TooManyDevices(hostId);
            d.index = uint16(list.length);
            list.push(deviceId);
            h = _setDevices(d.operator, hostId, list);
            h.count += 1;
        }
        h.power += power;
        emit Approved(deviceId, hostId, power, msg.sender);
    }

    /// The verifier refuses a pending device or revokes an approved one (e.g. a failed spot check).
    function reject(bytes32 deviceId, string calldata reason) external {
        if (msg.sender != verifier) revert NotVerifier(msg.sender);
        Device storage d = devices[deviceId];
        if (d.status == STATUS_NONE) revert Unregistered(deviceId);
        bytes32 hostId = d.host;
        _unbind(deviceId);
        emit Rejected(deviceId, hostId, reason, msg.sender);
    }

    /// The operator releases a device so it can be bound elsewhere. A host must release its devices first;
    /// releasing a host pays what it has accrued to its payout first.
    function release(bytes32 deviceId) external {
        Device storage d = devices[deviceId];
        if (d.status == STATUS_NONE) revert Unregistered(deviceId);
        if (d.operator != msg.sender) revert NotOperator(d.operator, msg.sender);
        bytes32 hostId = d.host;
        _unbind(deviceId);
        emit Released(deviceId, hostId, msg.sender);
    }

    function _unbind(bytes32 deviceId) private {
        Device storage d = devices[deviceId];
        bytes32 hostId = d.host;
        Host storage h = hosts[_hostKey(d.operator, hostId)];
        if (hostId == deviceId) {
            if (hostDeviceList[hostId].length != 0) revert HostHasDevices(hostId, h.count);
            if (h.accrued != 0) _pay(hostId, d.payout);
            delete hosts[_hostKey(d.operator, hostId)];
        } else if (d.status == STATUS_APPROVED) {
            bytes32[] storage list = hostDeviceList[hostId];
            uint256 i = d.index;
            uint256 last = list.length - 1;
            if (i != last) {
                bytes32 moved = list[last];
                list[i] = moved;
                devices[moved].index = uint16(i);
            }
            list.pop();
            h = _setDevices(d.operator, hostId, list);
            h.count -= 1;
            h.power -= d.power;
        }
        delete devices[deviceId];
    }

    function _setHash(bytes32[] storage list) private view returns (bytes32 hash) {
        uint256 n = list.length;
        if (n == 0) return bytes32(0);
        bytes memory buf = new bytes(n * 33);
        for (uint256 i; i < n; ++i) {
            bytes32 id = list[i];
            uint8 kind = devices[id].kind;
            assembly ("memory-safe") {
                let p := add(add(buf, 32), mul(i, 33))
                mstore(p, id)
                mstore8(add(p, 32), kind)
            }
        }
        hash = keccak256(buf);
    }

    // ================================================================= heartbeat

    /// One heartbeat per host per epoch. The host quote's extraData must equal
    /// keccak256(heartbeatChallenge(sender, hostId, epoch, B, blockhash(B)) ‖ devicesDigest(commits)), where
    /// commits lists (deviceId, evidenceDigest) for exactly the host's attached approved devices, in order.
    /// Devices with their own key add a proof (see docs/protocol.md §Heartbeat) in `proofs`, in device order.
    function heartbeat(
        uint64 epoch,
        uint64 blockNumber,
        bytes32 blockHash,
        bytes32 akX,
        bytes32 akY,
        bytes calldata attest,
        bytes32 r,
        bytes32 s,
        bytes32[] calldata commits,
        bytes calldata kinds,
        bytes calldata proofs
    ) external {
        bytes32 hostId;
        assembly ("memory-safe") {
            mstore(0, akX)
            mstore(32, akY)
            hostId := keccak256(0, 64)
        }
        uint256 n = kinds.length;
        if (commits.length != 2 * n) revert DeviceSetMismatch(hostId);
        bytes32 key = _key(msg.sender, hostId, n == 0 ? bytes32(0) : _commitSetHash(commits, kinds));
        Host memory h = hosts[key];
        if (!h.active) _whyNotOperator(hostId);

        uint64 current = currentEpoch();
        if (epoch != current) revert WrongEpoch(epoch, current);
        if (h.lastEpoch == epoch) revert AlreadyCredited(hostId, epoch);
        if (blockNumber >= block.number) revert FutureBlock(blockNumber, uint64(block.number));
        {
            uint64 minBlock = uint64(block.number) > maxBlockAge ? uint64(block.number) - maxBlockAge : 0;
            if (h.lastBlock >= minBlock) minBlock = h.lastBlock + 1;
            if (blockNumber < minBlock) revert StaleBlock(blockNumber, minBlock);
        }
        {
            bytes32 actual = blockhash(blockNumber);
            if (actual != blockHash) revert WrongBlockhash(blockNumber, actual, blockHash);
        }

        // challenge laid out in memory once; the per-device challenges swap the id field (offset 104).
        uint256 ptr;
        bytes32 qualifying;
        bytes32 digest;
        bytes32 domain = HEARTBEAT_DOMAIN;
        assembly ("memory-safe") {
            ptr := mload(0x40)
            mstore(ptr, domain)
            mstore(add(ptr, 32), chainid())
            mstore(add(ptr, 64), shl(96, address()))
            mstore(add(ptr, 84), shl(96, caller()))
            mstore(add(ptr, 104), hostId)
            mstore(add(ptr, 136), shl(192, epoch))
            mstore(add(ptr, 144), shl(192, blockNumber))
            mstore(add(ptr, 152), blockHash)
            let challenge := keccak256(ptr, 184)
            mstore(0x40, add(ptr, 192))
            let buf := add(ptr, 192)
            let len := shl(5, commits.length)
            calldatacopy(buf, commits.offset, len)
            digest := keccak256(buf, len)
            mstore(0, challenge)
            mstore(32, digest)
            qualifying := keccak256(0, 64)
        }
        _checkQuote(attest, qualifying);
        if (!_p256(_sha256(attest), r, s, akX, akY)) revert BadSignature();

        if (proofs.length != 0 || _needsProof(kinds)) _checkDeviceProofs(ptr, commits, kinds, proofs);

        uint256 accrued = uint256(h.accrued) + uint256(h.power) * rewardPerPowerEpoch;
        if (accrued > type(uint96).max) revert ClaimFirst(hostId);
        hosts[key] = Host(uint32(epoch), uint48(blockNumber), h.power, h.count, true, uint96(accrued));
        emit Heartbeat(hostId, epoch, digest);
    }

    function _sha256(bytes calldata data) private view returns (bytes32 hash) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, data.offset, data.length)
            if iszero(staticcall(gas(), 0x02, p, data.length, 0, 32)) { revert(0, 0) }
            hash := mload(0)
        }
    }

    function _whyNotOperator(bytes32 hostId) private view {
        Device storage d = devices[hostId];
        if (d.status == STATUS_NONE) revert Unregistered(hostId);
        if (d.operator != msg.sender) revert NotOperator(d.operator, msg.sender);
        if (!hosts[_hostKey(msg.sender, hostId)].active) revert NotApproved(hostId);
        revert DeviceSetMismatch(hostId);
    }

    function _commitSetHash(bytes32[] calldata commits, bytes calldata kinds) private pure returns (bytes32 hash) {
        uint256 n = kinds.length;
        if (n == 0) return bytes32(0);
        assembly ("memory-safe") {
            let buf := mload(0x40)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let p := add(buf, mul(i, 33))
                mstore(p, calldataload(add(commits.offset, shl(6, i))))
                mstore8(add(p, 32), byte(0, calldataload(add(kinds.offset, i))))
            }
            hash := keccak256(buf, mul(n, 33))
        }
    }

    function _needsProof(bytes calldata kinds) private pure returns (bool) {
        for (uint256 i; i < kinds.length; ++i) {
            uint8 k = uint8(kinds[i]);
            if (k != KIND_P384) return true;
        }
        return false;
    }

    /// Per-device proofs, concatenated in device order: P-256/emulator x‖y‖r‖s (128 bytes),
    /// secp256k1 r‖s‖v (65), RSA-2048 modulus‖signature (512); P-384 devices have none (committed only).
    function _checkDeviceProofs(uint256 ptr, bytes32[] calldata commits, bytes calldata kinds, bytes calldata proofs) private view {
        uint256 o; // relative offset into proofs
        uint256 n = kinds.length;
        for (uint256 i; i < n; ++i) {
            uint256 k;
            bytes32 id;
            bytes32 hash;
            assembly ("memory-safe") {
                k := byte(0, calldataload(add(kinds.offset, i)))
                id := calldataload(add(commits.offset, shl(6, i)))
            }
            if (k == KIND_P384) continue;
            uint256 bad; // 1 malformed, 2 bad signature
            assembly ("memory-safe") {
                // per-device challenge: the heartbeat challenge with deviceId in the id field; message hash = sha256 of it
                mstore(add(ptr, 104), id)
                mstore(0, keccak256(ptr, 184))
                pop(staticcall(gas(), 0x02, 0, 32, 0, 32))
                hash := mload(0)
                if or(eq(k, 3), eq(k, 7)) {
                    switch gt(add(o, 128), proofs.length)
                    case 1 { bad := 1 }
                    default {
                        let m := mload(0x40)
                        calldatacopy(add(m, 96), add(proofs.offset, o), 64) // x ‖ y
                        switch eq(keccak256(add(m, 96), 64), id)
                        case 0 { bad := 1 }
                        default {
                            mstore(m, hash)
                            calldatacopy(add(m, 32), add(proofs.offset, add(o, 64)), 64) // r ‖ s
                            mstore(0, 0)
                            let okc := staticcall(gas(), 0x100, m, 160, 0, 32)
                            if iszero(and(okc, and(eq(returndatasize(), 32), eq(mload(0), 1)))) { bad := 2 }
                        }
                    }
                    o := add(o, 128)
                }
            }
            if (bad == 1) revert MalformedProof(id);
            if (bad == 2) revert BadDeviceSignature(id);
            if (k == KIND_SECP256K1) {
                if (proofs.length < o + 65) revert MalformedProof(id);
                if (!_k1(hash, proofs[o:o + 65], id)) revert BadDeviceSignature(id);
                o += 65;
            } else if (k == KIND_RSA2048) {
                if (proofs.length < o + 512) revert MalformedProof(id);
                (bool ok, bytes32 modulusHash) = _rsa(hash, proofs[o + 256:o + 512], proofs[o:o + 256]);
                if (modulusHash != id) revert MalformedProof(id);
                if (!ok) revert BadDeviceSignature(id);
                o += 512;
            } else if (k != KIND_P256 && k != KIND_EMULATOR) {
                revert UnsupportedKind(uint8(k));
            }
        }
        if (o != proofs.length) revert MalformedProof(bytes32(0));
    }

    // ================================================================= rewards

    /// Anyone may call; the reward of a host (or of the host a device is attached to) goes to its payout only.
    function claim(bytes32 id) external returns (uint256 amount) {
        Device storage d = devices[id];
        if (d.status == STATUS_NONE) revert Unregistered(id);
        bytes32 hostId = d.host;
        Device storage host = devices[hostId];
        amount = _pay(hostId, host.payout);
    }

    function _pay(bytes32 hostId, address payout) private returns (uint256 amount) {
        Host storage h = hosts[_hostKey(devices[hostId].operator, hostId)];
        amount = h.accrued;
        if (amount == 0) revert NothingToClaim(hostId);
        h.accrued = 0;
        claimed[hostId] += amount;
        token.mint(payout, amount);
        emit Claimed(hostId, payout, amount);
    }

    // ================================================================= verification primitives

    /// Strict TPMS_ATTEST (TPM_ST_ATTEST_QUOTE) parser: every length must fit and the structure must end
    /// exactly at the end of `attest`; extraData must be 32 bytes equal to `expected`.
    function _checkQuote(bytes calldata attest, bytes32 expected) private pure {
        uint256 errAt = type(uint256).max; // offset of the first bad field; max = well formed
        bytes32 extra;
        assembly ("memory-safe") {
            let p := attest.offset
            let len := attest.length
            for {} 1 {} {
                if lt(len, 10) { errAt := 0 break }
                let w := calldataload(p)
                if iszero(eq(shr(224, w), 0xff544347)) { errAt := 0 break } // magic TPM_GENERATED_VALUE
                if iszero(eq(and(shr(208, w), 0xffff), 0x8018)) { errAt := 4 break } // TPM_ST_ATTEST_QUOTE
                let o := add(8, and(shr(192, w), 0xffff)) // after qualifiedSigner (TPM2B_NAME)
                if gt(add(o, 63), len) { errAt := 6 break } // extraData + clockInfo + firmware + bank count
                if iszero(eq(shr(240, calldataload(add(p, o))), 32)) { errAt := o break }
                extra := calldataload(add(p, add(o, 2)))
                if iszero(eq(extra, expected)) { errAt := sub(not(0), 1) break }
                o := add(o, 59) // 2 + 32 extraData, 17 clockInfo, 8 firmwareVersion
                let banks := shr(224, calldataload(add(p, o)))
                if or(iszero(banks), gt(banks, 16)) { errAt := o break }
                o := add(o, 4)
                for { let i := 0 } lt(i, banks) { i := add(i, 1) } {
                    if gt(add(o, 3), len) { errAt := o break }
                    let sel := byte(2, calldataload(add(p, o)))
                    if or(iszero(sel), gt(sel, 32)) { errAt := add(o, 2) break }
                    o := add(o, add(3, sel))
                }
                if iszero(eq(errAt, not(0))) { break }
                if gt(add(o, 2), len) { errAt := o break }
                let dlen := shr(240, calldataload(add(p, o)))
                if or(or(iszero(dlen), gt(dlen, 64)), iszero(eq(add(add(o, 2), dlen), len))) { errAt := o }
                break
            }
        }
        if (errAt == type(uint256).max) return;
        if (errAt == type(uint256).max - 1) revert WrongExtraData(expected, extra);
        revert MalformedAttest(errAt);
    }

    /// ECDSA P-256 through the precompile at 0x100 (RIP-7212 / EIP-7951): returns 1 on success, nothing otherwise.
    function _p256(bytes32 hash, bytes32 r, bytes32 s, bytes32 x, bytes32 y) private view returns (bool ok) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, hash)
            mstore(add(p, 32), r)
            mstore(add(p, 64), s)
            mstore(add(p, 96), x)
            mstore(add(p, 128), y)
            mstore(0, 0)
            let success := staticcall(gas(), 0x100, p, 160, 0, 32)
            ok := and(success, and(eq(returndatasize(), 32), eq(mload(0), 1)))
        }
    }

    /// secp256k1 via ecrecover: the recovered address must be the low 20 bytes of deviceId = keccak256(x ‖ y).
    function _k1(bytes32 hash, bytes calldata sig, bytes32 deviceId) private pure returns (bool) {
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        address signer = ecrecover(hash, v, bytes32(sig[:32]), bytes32(sig[32:64]));
        return signer != address(0) && signer == address(uint160(uint256(deviceId)));
    }

    /// RSA-2048 PKCS#1 v1.5 with SHA-256 and e = 65537 through modexp (0x05).
    /// Also returns keccak256(modulus) (hashed from the copy the precompile input needs anyway).
    function _rsa(bytes32 hash, bytes calldata sig, bytes calldata modulus) private view returns (bool ok, bytes32 modulusHash) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 256)
            mstore(add(p, 32), 3)
            mstore(add(p, 64), 256)
            calldatacopy(add(p, 96), sig.offset, 256)
            mstore(add(p, 352), shl(232, 0x010001))
            calldatacopy(add(p, 355), modulus.offset, 256)
            modulusHash := keccak256(add(p, 355), 256)
            // signature must be below the modulus (no s + n malleability)
            let lt_ := 0
            for { let i := 0 } lt(i, 256) { i := add(i, 32) } {
                let a := calldataload(add(sig.offset, i))
                let b := calldataload(add(modulus.offset, i))
                if lt(a, b) { lt_ := 1 break }
                if gt(a, b) { break }
            }
            let out := add(p, 640)
            if and(lt_, staticcall(gas(), 0x05, p, 611, out, 256)) {
                let ff := not(0)
                ok := and(
                    eq(mload(out), 0x0001ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff),
                    and(eq(mload(add(out, 32)), ff), eq(mload(add(out, 64)), ff))
                )
                ok := and(ok, and(eq(mload(add(out, 96)), ff), eq(mload(add(out, 128)), ff)))
                ok := and(ok, eq(mload(add(out, 160)), ff))
                ok := and(ok, eq(mload(add(out, 192)), 0xffffffffffffffffffffffff003031300d060960864801650304020105000420))
                ok := and(ok, eq(mload(add(out, 224)), hash))
            }
        }
    }
}
