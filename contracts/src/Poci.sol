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
    uint128 public immutable rewardPerPowerEpoch;
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

    /// Three slots. A heartbeat reads slot 0 and 1 and writes slot 2 once.
    struct Host {
        // slot 0: set when the host is approved
        address operator;
        uint64 power; // aggregate approved power: host + attached approved devices
        uint32 count; // attached approved devices
        // slot 1
        bytes32 setHash; // keccak256(concat(deviceId ‖ uint8 kind)) over the attached devices, in list order
        // slot 2: the only slot a heartbeat writes
        uint64 lastEpoch;
        uint64 lastBlock;
        uint128 accrued;
    }

    mapping(bytes32 => Device) internal devices;
    mapping(bytes32 => Host) internal hosts;
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
        bytes proof
    );
    event Approved(bytes32 indexed deviceId, bytes32 indexed hostId, uint64 power, address verifier);
    event Rejected(bytes32 indexed deviceId, bytes32 indexed hostId, string reason, address verifier);
    event Released(bytes32 indexed deviceId, bytes32 indexed hostId, address operator);
    event Heartbeat(bytes32 indexed hostId, uint64 indexed epoch, uint64 blockNumber, uint128 reward, bytes32 devicesDigest);
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
    error HostHasDevices(bytes32 hostId, uint32 count);
    error TooManyDevices(bytes32 hostId);
    error NothingToClaim(bytes32 hostId);

    constructor(
        address verifier_,
        uint64 epochSeconds_,
        uint64 maxBlockAge_,
        uint128 rewardPerPowerEpoch_,
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
            uint64 power,
            uint32 count,
            bytes32 setHash,
            uint64 lastEpoch,
            uint64 lastBlock,
            uint128 accrued,
            uint256 claimedTotal
        )
    {
        Host storage h = hosts[hostId];
        return (h.operator, h.power, h.count, h.setHash, h.lastEpoch, h.lastBlock, h.accrued, claimed[hostId]);
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
    function register(uint8 kind, bytes calldata publicKey, address payout, bytes32 hostId, bytes calldata proof)
        external
        returns (bytes32 deviceId)
    {
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
            if (!_rsa(sha256(abi.encodePacked(challenge)), proof, publicKey)) revert BadDeviceSignature(deviceId);
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
        emit Registered(deviceId, msg.sender, hostId, kind, payout, publicKey, proof);
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
        Host storage h = hosts[hostId];
        if (hostId == deviceId) {
            h.operator = d.operator;
        } else {
            bytes32[] storage list = hostDeviceList[hostId];
            if (list.length >= MAX_DEVICES_PER_HOST) revert TooManyDevices(hostId);
            d.index = uint16(list.length);
            list.push(deviceId);
            h.count += 1;
            h.setHash = _setHash(list);
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
        Host storage h = hosts[hostId];
        if (hostId == deviceId) {
            if (h.count != 0 || hostDeviceList[hostId].length != 0) revert HostHasDevices(hostId, h.count);
            if (h.accrued != 0) _pay(hostId, d.payout);
            delete hosts[hostId];
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
            h.count -= 1;
            h.power -= d.power;
            h.setHash = _setHash(list);
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
        Host storage h = hosts[hostId];
        address operator = h.operator;
        if (operator != msg.sender) _whyNotOperator(hostId, operator);

        uint64 current = currentEpoch();
        if (epoch != current) revert WrongEpoch(epoch, current);
        uint64 lastEpoch = h.lastEpoch;
        if (lastEpoch == epoch) revert AlreadyCredited(hostId, epoch);
        if (blockNumber >= block.number) revert FutureBlock(blockNumber, uint64(block.number));
        {
            uint64 minBlock = uint64(block.number) > maxBlockAge ? uint64(block.number) - maxBlockAge : 0;
            uint64 lastBlock = h.lastBlock;
            if (lastBlock >= minBlock) minBlock = lastBlock + 1;
            if (blockNumber < minBlock) revert StaleBlock(blockNumber, minBlock);
        }
        {
            bytes32 actual = blockhash(blockNumber);
            if (actual != blockHash) revert WrongBlockhash(blockNumber, actual, blockHash);
        }

        uint256 n = kinds.length;
        if (commits.length != 2 * n || n != h.count || _commitSetHash(commits, kinds) != h.setHash) revert DeviceSetMismatch(hostId);

        // challenge laid out in memory once; the per-device challenges swap the id field (offset 104).
        uint256 ptr;
        bytes32 challenge;
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
            challenge := keccak256(ptr, 184)
            mstore(0x40, add(ptr, 192))
        }
        bytes32 digest = keccak256(abi.encodePacked(commits));
        bytes32 qualifying;
        assembly ("memory-safe") {
            mstore(0, challenge)
            mstore(32, digest)
            qualifying := keccak256(0, 64)
        }
        _checkQuote(attest, qualifying);
        if (!_p256(sha256(attest), r, s, akX, akY)) revert BadSignature();

        if (proofs.length != 0 || _needsProof(kinds)) _checkDeviceProofs(ptr, commits, kinds, proofs);

        uint128 reward = uint128(h.power) * rewardPerPowerEpoch;
        h.lastEpoch = epoch;
        h.lastBlock = blockNumber;
        h.accrued += reward;
        emit Heartbeat(hostId, epoch, blockNumber, reward, digest);
    }

    function _whyNotOperator(bytes32 hostId, address hostOperator) private view {
        Device storage d = devices[hostId];
        if (d.status == STATUS_NONE) revert Unregistered(hostId);
        if (d.operator != msg.sender) revert NotOperator(d.operator, msg.sender);
        if (hostOperator == address(0)) revert NotApproved(hostId);
        revert NotOperator(hostOperator, msg.sender);
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
        uint256 o;
        for (uint256 i; i < kinds.length; ++i) {
            uint8 k = uint8(kinds[i]);
            if (k == KIND_P384) continue;
            bytes32 id = commits[2 * i];
            bytes32 hash;
            assembly ("memory-safe") {
                mstore(add(ptr, 104), id)
                mstore(0, keccak256(ptr, 184))
                if iszero(staticcall(gas(), 0x02, 0, 32, 0, 32)) { revert(0, 0) }
                hash := mload(0)
            }
            if (k == KIND_P256 || k == KIND_EMULATOR) {
                if (proofs.length < o + 128 || keccak256(proofs[o:o + 64]) != id) revert MalformedProof(id);
                if (!_p256(hash, bytes32(proofs[o + 64:o + 96]), bytes32(proofs[o + 96:o + 128]), bytes32(proofs[o:o + 32]), bytes32(proofs[o + 32:o + 64])))
                    revert BadDeviceSignature(id);
                o += 128;
            } else if (k == KIND_SECP256K1) {
                if (proofs.length < o + 65) revert MalformedProof(id);
                if (!_k1(hash, proofs[o:o + 65], id)) revert BadDeviceSignature(id);
                o += 65;
            } else if (k == KIND_RSA2048) {
                if (proofs.length < o + 512 || keccak256(proofs[o:o + 256]) != id) revert MalformedProof(id);
                if (!_rsa(hash, proofs[o + 256:o + 512], proofs[o:o + 256])) revert BadDeviceSignature(id);
                o += 512;
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
        amount = _pay(hostId, devices[hostId].payout);
    }

    function _pay(bytes32 hostId, address payout) private returns (uint256 amount) {
        Host storage h = hosts[hostId];
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
        uint256 len = attest.length;
        if (len < 10) revert MalformedAttest(0);
        if (uint32(bytes4(attest[0:4])) != TPM_GENERATED_VALUE) revert MalformedAttest(0);
        if (uint16(bytes2(attest[4:6])) != TPM_ST_ATTEST_QUOTE) revert MalformedAttest(4);
        uint256 o = 8 + uint16(bytes2(attest[6:8])); // qualifiedSigner (TPM2B_NAME)
        if (o + 2 + 32 + 17 + 8 + 4 > len) revert MalformedAttest(6);
        if (uint16(bytes2(attest[o:o + 2])) != 32) revert MalformedAttest(o);
        bytes32 extra = bytes32(attest[o + 2:o + 34]);
        if (extra != expected) revert WrongExtraData(expected, extra);
        o += 34 + 17 + 8; // clockInfo, firmwareVersion
        uint256 banks = uint32(bytes4(attest[o:o + 4]));
        if (banks == 0 || banks > 16) revert MalformedAttest(o);
        o += 4;
        for (uint256 i; i < banks; ++i) {
            if (o + 3 > len) revert MalformedAttest(o);
            uint256 sel = uint8(attest[o + 2]);
            if (sel == 0 || sel > 32) revert MalformedAttest(o + 2);
            o += 3 + sel;
        }
        if (o + 2 > len) revert MalformedAttest(o);
        uint256 dlen = uint16(bytes2(attest[o:o + 2]));
        if (dlen == 0 || dlen > 64 || o + 2 + dlen != len) revert MalformedAttest(o);
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
    function _rsa(bytes32 hash, bytes calldata sig, bytes calldata modulus) private view returns (bool ok) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 256)
            mstore(add(p, 32), 3)
            mstore(add(p, 64), 256)
            calldatacopy(add(p, 96), sig.offset, 256)
            mstore(add(p, 352), shl(232, 0x010001))
            calldatacopy(add(p, 355), modulus.offset, 256)
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
